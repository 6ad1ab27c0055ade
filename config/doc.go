// Package config reads posagent's TOML configuration file, fills in defaults and
// validates every value before anything else starts.
//
// # Concepts
//
// A configuration is one TOML file (by default /etc/posagent/posagent.toml) with the
// tables [seller], [terminal], [ksef], [printer], [till], [store], [policy],
// [calendar], [certs], [log] and [metrics]. [Parse] starts from [Default], decodes the file over
// it and then validates the result, so a key left out keeps its documented default.
// Durations are strings such as "3s"; sizes are integers of bytes or strings such as
// "1MiB"; calendar dates are TOML local dates or "YYYY-MM-DD" strings.
//
// Parsing is strict. A key the program does not know is an error naming the key and
// the keys its table accepts, so a typo never silently falls back to a default. All
// validation problems are collected into one [Errors] value of [*FieldError]s that
// each name the dotted key, the offending value and what is allowed:
//
//	printer.handshake: "rtscts" is not one of dtrdsr, xonxoff, none
//
// A deprecated key is still read for one release: policy.b2b_offline_handover
// stands for policy.b2b_offline ("handover" for true, "hold" for false), and
// [Config.Deprecations] names it for the service to log as a warning. Setting
// it together with its replacement is an error.
//
// # Secrets
//
// The KSeF token, the till API and metrics tokens and the key passphrase are never read from the
// configuration file: a key such as ksef.token is rejected with the name of the file
// key and environment variable to use instead. [Config.Secret] reads a secret from
// its environment variable (POSAGENT_KSEF_TOKEN, POSAGENT_TILL_TOKEN,
// POSAGENT_KEY_PASSPHRASE, POSAGENT_METRICS_TOKEN) or else from the file the configuration names, and
// refuses a file that its group or other users can read.
//
// # Caveats
//
// [Parse] is pure: it looks at no files and no environment. Whether a secret is
// available is known only when [Config.Secret] is called. Paths must be absolute,
// because a service's working directory is not something to rely on.
package config
