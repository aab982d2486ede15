// Package tui is opsdeck's terminal interface (Bubble Tea v2).
//
// Only the root (Model) is a tea.Model. Screens are small child models
// (Init/Update/View/SetSize plus their key bindings), named by a Kind and
// built from a map of constructors with the shared Context (sizes, config,
// broker, styles, clock). The root routes keys by mode first (prompt,
// palette, filter, help), then global keys, then the focused screen; it
// handles WindowSizeMsg once, subtracts its own chrome (status bar and
// footer) and passes the rest on. Navigation, errors and info are messages
// shown on one footer line that the next key clears.
//
// Network work never runs in Update: a tea.Cmd closure captures what it
// needs and returns a message carrying a request id, and replies to stale
// requests are dropped.
package tui
