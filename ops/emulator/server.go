package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Server is a running moto_server on 127.0.0.1.
type Server struct {
	// URL is the endpoint, e.g. http://127.0.0.1:54321.
	URL  string
	Port int

	cmd      *exec.Cmd
	logPath  string
	stopOnce sync.Once
	done     chan struct{}

	demoOnce sync.Once
	demo     *Demo
	demoErr  error
}

// ErrNoMoto says moto_server is not installed, and how to install it.
var ErrNoMoto = errors.New("moto_server is not on PATH: install it with `pip install 'moto[server]'` (moto 5.2.x)")

// Options for Start.
type Options struct {
	// LogDir receives moto.log (default: a temp dir).
	LogDir string
	// StartTimeout bounds the wait for moto to answer (default 60s).
	StartTimeout time.Duration
}

// Start launches moto_server on a free loopback port in its own process
// group and waits until it answers. Stop it with Stop; it is also killed
// if this process dies, since it reads no stdin and we hold its group.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNoMoto
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.LogDir == "" {
		opts.LogDir, err = os.MkdirTemp("", "opsdeck-moto-")
		if err != nil {
			return nil, err
		}
	}
	// A port can be taken between our probe and moto's bind; retry a few.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := startOn(ctx, bin, port, opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOn(ctx context.Context, bin string, port int, opts Options) (*Server, error) {
	logPath := filepath.Join(opts.LogDir, "moto.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	amis := filepath.Join(opts.LogDir, "base-amis.json")
	if err := os.WriteFile(amis, []byte(BaseAMIsJSON), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(),
		// A few public base images instead of moto's ~1,200 defaults, which
		// make every image and snapshot query slow (~600 ms).
		"MOTO_EC2_LOAD_DEFAULT_AMIS=false",
		"MOTO_AMIS_PATH="+amis,
		"PYTHONUNBUFFERED=1",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx, opts.StartTimeout); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		resp, err := client.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("moto_server exited during start-up; see %s", s.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("moto_server did not answer on %s within %s; see %s", s.URL, timeout, s.logPath)
		}
	}
}

// Stop ends moto's whole process group (SIGTERM, then SIGKILL after 3 s)
// and waits for it. Safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
		}
	})
}

// PID of the moto_server process (its process group id too).
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Reset wipes all of moto's state.
func (s *Server) Reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Env is the environment that points the AWS SDK (and the AWS CLI) at this
// server with dummy credentials. Any other AWS_* profile settings are
// dropped so nothing reaches real AWS.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":            s.URL,
		"AWS_ACCESS_KEY_ID":           "AKIAOPSDECKDEMO00001",
		"AWS_SECRET_ACCESS_KEY":       "opsdeck-demo-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
}

// Setenv applies Env to this process.
func (s *Server) Setenv() {
	for k, v := range s.Env() {
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
}

// BaseAMIs are the public "amazon" images every region of the emulator
// has: what recipes bake from. They have EBS roots (moto's RegisterImage
// and CreateImage only make "standard" ones, which amazon-ebs refuses).
const BaseAMIsJSON = `[
 {"ami_id": "ami-0a11e2023b6e86400", "name": "al2023-ami-2023.6.20261101.0-kernel-6.1-x86_64", "description": "Amazon Linux 2023 (emulator stand-in)",
  "owner_id": "137112412989", "public": true, "virtualization_type": "hvm", "architecture": "x86_64", "state": "available",
  "image_type": "machine", "root_device_type": "ebs", "root_device_name": "/dev/xvda", "hypervisor": "xen", "boot_mode": "uefi-preferred"},
 {"ami_id": "ami-0a11e2023a7a4ac00", "name": "al2023-ami-2023.6.20261101.0-kernel-6.1-arm64", "description": "Amazon Linux 2023 arm64 (emulator stand-in)",
  "owner_id": "137112412989", "public": true, "virtualization_type": "hvm", "architecture": "arm64", "state": "available",
  "image_type": "machine", "root_device_type": "ebs", "root_device_name": "/dev/xvda", "hypervisor": "xen", "boot_mode": "uefi"}
]`

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
