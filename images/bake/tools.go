package bake

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
)

// FindTools locates Packer and the plugin directory: $OPSDECK_PACKER and
// $PACKER_PLUGIN_PATH, else bin/packer and .packer.d/plugins next to the
// opsdeck binary (where `make tools` puts them), else packer on PATH.
func FindTools() (Tools, error) {
	t := Tools{Packer: os.Getenv("OPSDECK_PACKER"), PluginPath: os.Getenv("PACKER_PLUGIN_PATH")}
	if self, err := os.Executable(); err == nil {
		dir := filepath.Dir(self)
		if t.Packer == "" {
			if p := filepath.Join(dir, "packer"); fileExists(p) {
				t.Packer = p
			}
		}
		if t.PluginPath == "" {
			if p := filepath.Join(dir, "..", ".packer.d", "plugins"); fileExists(p) {
				t.PluginPath, _ = filepath.Abs(p)
			}
		}
	}
	if t.Packer == "" {
		if p, err := exec.LookPath("packer"); err == nil {
			t.Packer = p
		}
	}
	if t.Packer == "" {
		return t, ErrNoPacker
	}
	return t, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// EmulatorEndpoint is the EC2 endpoint when it is an emulator on this
// machine (loopback): the bake then renders the emulator template. A real
// endpoint override (a VPC endpoint) bakes normally.
func EmulatorEndpoint() string {
	for _, k := range []string{"AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL"} {
		v := os.Getenv(k)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil {
			return ""
		}
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
			return v
		}
		return ""
	}
	return ""
}
