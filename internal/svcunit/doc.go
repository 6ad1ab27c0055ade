// Package svcunit holds posagent's systemd unit: one template used both by
// kardianos/service at install time and by [Render] for packaging (.deb).
//
// # Concepts
//
// [Template] is written in kardianos/service v1.3's own small template syntax
// (not text/template): {{Key}}, {{Key | fn}}, {{if Key}}…{{else}}…{{end}} and
// {{range Key}}…{{.}}…{{end}}, over the keys that service's systemd backend
// passes (Description, Path, Name, Arguments, UserName, WorkingDirectory,
// ReloadSignal, PIDFile, LogDirectory, OutputFileSupport, LimitNOFILE, Restart,
// SuccessExitStatus, Dependencies, EnvVars, ChRoot) and its two functions, cmd
// (quote) and cmdEscape (spaces as \x20). Give it to kardianos with
//
//	service.KeyValue{"SystemdScript": svcunit.Template}
//
// [Render] fills the same keys from [Params] with a renderer for the same
// syntax, so the unit in a package and the unit "posagent install" writes are
// byte-for-byte the same for the same inputs.
//
// # The unit
//
// The service always comes back: Restart=always, RestartSec=2 and
// StartLimitIntervalSec=0 (never give up). It starts after network.target and
// does not wait for network-online, because selling must not depend on the
// link. TimeoutStopSec=30 is longer than a store flush, and KillMode=mixed sends
// SIGTERM to the main process only, then SIGKILL to whatever is left. It runs as
// posagent:posagent with the dialout group for serial printers, and systemd's
// sandbox makes everything read-only except /var/lib/posagent.
//
// # Caveats
//
// Restart is fixed to always whatever kardianos's Restart option says: a till
// agent that stays down is never what a shop wants.
package svcunit
