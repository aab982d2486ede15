// Package pluginmain runs AWS's own Session Manager plugin code
// (github.com/aws/session-manager-plugin, Apache-2.0) inside opsdeck's
// binary, for machines without session-manager-plugin installed. opsdeck
// re-executes itself in a hidden mode that calls Run: it must be a
// separate process, because that code calls os.Exit and owns the terminal.
// Keeping AWS's code (not a re-implementation) keeps KMS encryption,
// multiplexed port forwarding, reconnects and resize handling.
package pluginmain

import (
	"os"

	"github.com/aws/session-manager-plugin/src/sessionmanagerplugin/session"
	_ "github.com/aws/session-manager-plugin/src/sessionmanagerplugin/session/portsession"  // registers Port
	_ "github.com/aws/session-manager-plugin/src/sessionmanagerplugin/session/shellsession" // registers Standard_Stream
)

// Arg is the hidden first argument that selects the plugin mode.
const Arg = "__session-manager-plugin"

// Run behaves as `session-manager-plugin ARGS...`; args excludes the
// program name and Arg.
func Run(args []string) {
	session.ValidateInputAndStartSession(append([]string{"session-manager-plugin"}, args...), os.Stdout)
}
