package tui

import (
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Kind names a screen.
type Kind int

const (
	// AccountsKind is the accounts matrix and list.
	AccountsKind Kind = iota
	// StacksKind lists stacks across accounts and regions.
	StacksKind
	// StackDetailKind is one stack's tabs.
	StackDetailKind
	// JumpboxesKind lists jumpboxes across accounts.
	JumpboxesKind
	// DatabasesKind lists RDS instances across accounts.
	DatabasesKind
	// TunnelsKind lists running port forwards.
	TunnelsKind
	// BackupsKind lists resources and their recovery points.
	BackupsKind
	// AuditKind shows the journal.
	AuditKind
	// ImagesKind shows recipes, bakes and the channel matrix.
	ImagesKind
	// ImageUsageKind shows which AMIs an image's instances run.
	ImageUsageKind
	// RunbooksKind lists DR runbooks and follows a run.
	RunbooksKind
)

// Screen is a child model. Only the root is a tea.Model.
type Screen interface {
	Init() tea.Cmd
	Update(tea.Msg) tea.Cmd
	View() string
	SetSize(w, h int)
	Title() string
	// Keys are the screen's bindings, for help. Mutating keys are left out
	// when the context is read-only.
	Keys() []key.Binding
}

// Filterable screens take the "/" filter.
type Filterable interface {
	SetFilter(string)
	Filter() string
}

// Capturing screens can hold the keyboard (an open picker) so the root
// passes every key to them, esc included.
type Capturing interface {
	Capturing() bool
}

// Paramed screens take parameters when opened (NavigateMsg.Params).
type Paramed interface {
	SetParams(any) tea.Cmd
}

// screenSpec registers a screen: its constructor and palette command.
type screenSpec struct {
	Kind    Kind
	Command string // "" = not in the palette (reached from another screen)
	Aliases []string
	Args    string
	Help    string
	// Fresh screens are built anew on every open (a detail view).
	Fresh bool
	// Mutating screens only change things: hidden in read-only mode.
	Mutating bool
	New      func(*Context) Screen
}

// screens is the registry; each screen file adds itself in init.
var screens = map[Kind]screenSpec{}

func register(s screenSpec) { screens[s.Kind] = s }

// command is one palette entry.
type command struct {
	Name    string
	Aliases []string
	Args    string
	Help    string
	Run     func(m *Model, args []string) tea.Cmd
}

func (m *Model) commands() []command {
	cmds := []command{
		{Name: "quit", Aliases: []string{"q", "exit"}, Help: "leave opsdeck", Run: func(*Model, []string) tea.Cmd { return tea.Quit }},
		{Name: "help", Aliases: []string{"h"}, Help: "show keys", Run: func(m *Model, _ []string) tea.Cmd { m.mode = modeHelp; return nil }},
		{Name: "region", Args: "REGION", Help: "switch region within the account", Run: (*Model).cmdRegion},
		{Name: "role", Args: "ROLE", Help: "assume another role in the account", Run: (*Model).cmdRole},
	}
	for _, s := range screens {
		if s.Command == "" || s.Mutating && m.ctx.ReadOnly {
			continue
		}
		k := s.Kind
		cmds = append(cmds, command{Name: s.Command, Aliases: s.Aliases, Args: s.Args, Help: s.Help,
			Run: func(_ *Model, args []string) tea.Cmd {
				if len(args) > 0 {
					return NavigateWith(k, strings.Join(args, " "))
				}
				return Navigate(k)
			}})
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return cmds
}

// complete returns the commands whose name or alias starts with prefix.
func complete(cmds []command, prefix string) []command {
	prefix = strings.ToLower(strings.TrimSpace(prefix))
	var out []command
	for _, c := range cmds {
		if strings.HasPrefix(c.Name, prefix) {
			out = append(out, c)
			continue
		}
		for _, a := range c.Aliases {
			if strings.HasPrefix(a, prefix) && prefix != "" {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// lookup finds the command named (or aliased) exactly name.
func lookup(cmds []command, name string) (command, bool) {
	for _, c := range cmds {
		if c.Name == name {
			return c, true
		}
		for _, a := range c.Aliases {
			if a == name {
				return c, true
			}
		}
	}
	return command{}, false
}
