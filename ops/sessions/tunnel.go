package sessions

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/profiles"
)

// Documents for port forwards.
const (
	DocPortForward       = "AWS-StartPortForwardingSession"
	DocPortForwardRemote = "AWS-StartPortForwardingSessionToRemoteHost"
)

// Spec is what a tunnel forwards.
type Spec struct {
	Account  *profiles.Account
	Role     string
	Region   string
	Instance string // the jumpbox
	// Host is the private host behind the jumpbox; "" forwards to a port
	// on the jumpbox itself.
	Host      string
	Port      int
	LocalPort int // 0 = any free port, kept across restarts
	Label     string
}

// Target says where the tunnel goes, for display.
func (s Spec) Target() string {
	h := s.Host
	if h == "" {
		h = s.Instance
	}
	return fmt.Sprintf("%s:%d", h, s.Port)
}

// Launcher starts one session for a tunnel and builds its plugin command;
// terminate ends the session afterwards.
type Launcher func(ctx context.Context, spec Spec, localPort int) (cmd *exec.Cmd, sessionID string, terminate func(), err error)

// NewLauncher starts sessions through the broker (fresh credentials on
// every restart) and runs plugin for them.
func NewLauncher(b *profiles.Broker, plugin Plugin, newSSM func(aws.Config) SSMAPI) Launcher {
	if newSSM == nil {
		newSSM = func(c aws.Config) SSMAPI { return ssm.NewFromConfig(c) }
	}
	return func(ctx context.Context, spec Spec, localPort int) (*exec.Cmd, string, func(), error) {
		cfg, creds, err := b.Config(ctx, spec.Account, spec.Role, spec.Region)
		if err != nil {
			return nil, "", nil, err
		}
		api := newSSM(cfg)
		req := Request{Target: spec.Instance, Document: DocPortForward, Parameters: map[string][]string{
			"portNumber": {strconv.Itoa(spec.Port)}, "localPortNumber": {strconv.Itoa(localPort)}}}
		if spec.Host != "" {
			req.Document = DocPortForwardRemote
			req.Parameters["host"] = []string{spec.Host}
		}
		started, err := Start(ctx, api, req)
		if err != nil {
			return nil, "", nil, err
		}
		cmd, err := plugin.Command(context.Background(), started, req, cfg.Region, Endpoint(cfg), creds)
		if err != nil {
			_ = Terminate(api, started.SessionID)
			return nil, "", nil, err
		}
		return cmd, started.SessionID, func() { _ = Terminate(api, started.SessionID) }, nil
	}
}

// State of a tunnel.
type State string

const (
	Starting   State = "starting"
	Open       State = "open"
	Restarting State = "restarting"
	Stopped    State = "stopped"
)

// Info is a tunnel's state for display.
type Info struct {
	ID        int
	Spec      Spec
	State     State
	LocalAddr string
	SessionID string
	Since     time.Time // when the current connection opened
	Started   time.Time
	Restarts  int
	LastErr   string
}

// Backoff between restarts: doubles from Initial to Max; a tunnel that
// stayed up for a minute starts again from Initial.
type Backoff struct {
	Initial, Max time.Duration
}

// Manager supervises tunnels: restarts them with backoff when the service
// drops them (it recycles connections about hourly) and stops them all on
// exit.
type Manager struct {
	launch  Launcher
	backoff Backoff
	// OnChange is called (from supervisor goroutines) after any state
	// change, for UIs to refresh.
	OnChange func()

	mu      sync.Mutex
	nextID  int
	tunnels map[int]*tunnel
}

type tunnel struct {
	info   Info
	cancel context.CancelFunc
	done   chan struct{}
}

// NewManager returns a manager using launch.
func NewManager(launch Launcher, b Backoff) *Manager {
	if b.Initial == 0 {
		b.Initial = time.Second
	}
	if b.Max == 0 {
		b.Max = 30 * time.Second
	}
	return &Manager{launch: launch, backoff: b, tunnels: map[int]*tunnel{}}
}

var portOpened = regexp.MustCompile(`Port (\d+) opened`)

// Open starts a tunnel and returns once it listens (or its first attempt
// fails, which is returned and stops it).
func (m *Manager) Open(ctx context.Context, spec Spec) (Info, error) {
	m.mu.Lock()
	m.nextID++
	id := m.nextID
	tctx, cancel := context.WithCancel(context.Background())
	t := &tunnel{info: Info{ID: id, Spec: spec, State: Starting, Started: time.Now()}, cancel: cancel, done: make(chan struct{})}
	m.tunnels[id] = t
	m.mu.Unlock()
	ready := make(chan error, 1)
	go m.supervise(tctx, t, ready)
	select {
	case err := <-ready:
		if err != nil {
			m.Stop(id)
			return Info{}, err
		}
		return m.info(id), nil
	case <-ctx.Done():
		m.Stop(id)
		return Info{}, ctx.Err()
	}
}

func (m *Manager) info(id int) Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tunnels[id]; ok {
		return t.info
	}
	return Info{}
}

func (m *Manager) update(t *tunnel, f func(*Info)) {
	m.mu.Lock()
	f(&t.info)
	m.mu.Unlock()
	if m.OnChange != nil {
		m.OnChange()
	}
}

func (m *Manager) supervise(ctx context.Context, t *tunnel, ready chan<- error) {
	defer close(t.done)
	first := true
	delay := m.backoff.Initial
	localPort := t.info.Spec.LocalPort
	for {
		began := time.Now()
		port, err := m.runOnce(ctx, t, localPort, func(p int) {
			if first {
				ready <- nil
				first = false
			}
		})
		if port > 0 {
			localPort = port // restarts keep the address clients use
		}
		if ctx.Err() != nil {
			m.update(t, func(i *Info) { i.State = Stopped })
			return
		}
		if first {
			if err == nil {
				err = errors.New("the session ended before the port opened")
			}
			ready <- fmt.Errorf("forward to %s via %s: %w", t.info.Spec.Target(), t.info.Spec.Instance, err)
			return
		}
		if time.Since(began) > time.Minute {
			delay = m.backoff.Initial
		}
		m.update(t, func(i *Info) {
			i.State = Restarting
			i.Restarts++
			if err != nil {
				i.LastErr = err.Error()
			} else {
				i.LastErr = "connection dropped by the service"
			}
		})
		select {
		case <-ctx.Done():
			m.update(t, func(i *Info) { i.State = Stopped })
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, m.backoff.Max)
	}
}

// runOnce starts a session and its plugin, reports the listening port,
// and returns when the child exits (or ctx ends, after stopping it).
func (m *Manager) runOnce(ctx context.Context, t *tunnel, localPort int, opened func(int)) (int, error) {
	cmd, sid, terminate, err := m.launch(ctx, t.info.Spec, localPort)
	if err != nil {
		return 0, err
	}
	defer terminate() // always: the plugin exits 0 even when the session failed
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var tail tailBuffer
	cmd.Stderr = &tail
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start session-manager-plugin: %w", err)
	}
	exited := make(chan struct{})
	port := 0
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			tail.WriteString(line + "\n")
			if mm := portOpened.FindStringSubmatch(line); mm != nil && port == 0 {
				port, _ = strconv.Atoi(mm[1])
				m.update(t, func(i *Info) {
					i.State, i.LocalAddr, i.SessionID, i.Since = Open, fmt.Sprintf("127.0.0.1:%d", port), sid, time.Now()
				})
				opened(port)
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-ctx.Done():
		// SIGINT makes the plugin send TerminateSession itself and exit.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	if port == 0 {
		return 0, fmt.Errorf("plugin exited before opening the port: %s", tail.last())
	}
	return port, nil
}

// Stop stops one tunnel and waits for it.
func (m *Manager) Stop(id int) {
	m.mu.Lock()
	t, ok := m.tunnels[id]
	delete(m.tunnels, id)
	m.mu.Unlock()
	if ok {
		t.cancel()
		<-t.done
	}
	if m.OnChange != nil {
		m.OnChange()
	}
}

// StopAll stops every tunnel (on exit).
func (m *Manager) StopAll() {
	for _, i := range m.List() {
		m.Stop(i.ID)
	}
}

// List returns the tunnels by id.
func (m *Manager) List() []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Info, 0, len(m.tunnels))
	for _, t := range m.tunnels {
		out = append(out, t.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// tailBuffer keeps the last lines a child printed, for error messages.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.WriteString(string(p))
	return len(p), nil
}

func (b *tailBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			b.lines = append(b.lines, l)
		}
	}
	if len(b.lines) > 20 {
		b.lines = b.lines[len(b.lines)-20:]
	}
}

func (b *tailBuffer) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) == 0 {
		return "no output"
	}
	return strings.Join(b.lines[max(0, len(b.lines)-3):], " / ")
}

var _ io.Writer = (*tailBuffer)(nil)
