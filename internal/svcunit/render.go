package svcunit

import (
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Params are the values kardianos/service would pass when installing.
type Params struct {
	Name         string   // unit name without .service; default "posagent"
	Description  string   // default DefaultDescription
	Path         string   // absolute path of the binary; default /usr/bin/posagent
	Arguments    []string // default ["run", "--config", "/etc/posagent/posagent.toml"]
	UserName     string   // default posagent (the group is named the same)
	Dependencies []string // extra [Unit] lines, e.g. "Wants=time-sync.target"
	// EnvVars become Environment= lines, sorted by name.
	EnvVars           map[string]string
	WorkingDirectory  string
	ChRoot            string
	ReloadSignal      string // e.g. "HUP"
	PIDFile           string
	LimitNOFILE       int  // 0 leaves the system default
	LogOutput         bool // also append stdout/stderr to files under LogDirectory
	LogDirectory      string
	SuccessExitStatus string
}

// Defaults for Params.
const (
	DefaultName        = "posagent"
	DefaultDescription = "posagent KSeF e-invoice agent for POS terminals"
	DefaultPath        = "/usr/bin/posagent"
	DefaultLogDir      = "/var/log"
)

// DefaultArguments start the service with the default configuration file.
var DefaultArguments = []string{"run", "--config", "/etc/posagent/posagent.toml"}

var (
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)
	userRe   = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	signalRe = regexp.MustCompile(`^(SIG)?[A-Z0-9+-]{2,12}$`)
	envRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	depRe    = regexp.MustCompile(`^[A-Za-z]+=`)
)

// Render returns the unit file for p, exactly as kardianos/service writes it
// from [Template] for the same inputs.
func Render(p Params) (string, error) {
	data, err := p.data()
	if err != nil {
		return "", err
	}
	return render(Template, data)
}

// data validates p and builds the key → value map kardianos passes.
func (p Params) data() (map[string]any, error) {
	if p.Name == "" {
		p.Name = DefaultName
	}
	if p.Description == "" {
		p.Description = DefaultDescription
	}
	if p.Path == "" {
		p.Path = DefaultPath
	}
	if p.Arguments == nil {
		p.Arguments = DefaultArguments
	}
	if p.LogDirectory == "" {
		p.LogDirectory = DefaultLogDir
	}
	// A line break in any value would inject directives into the unit.
	single := map[string]string{
		"Name": p.Name, "Description": p.Description, "Path": p.Path, "UserName": p.UserName,
		"WorkingDirectory": p.WorkingDirectory, "ChRoot": p.ChRoot, "ReloadSignal": p.ReloadSignal,
		"PIDFile": p.PIDFile, "LogDirectory": p.LogDirectory, "SuccessExitStatus": p.SuccessExitStatus,
	}
	for _, k := range slices.Sorted(maps.Keys(single)) {
		if strings.ContainsAny(single[k], "\n\r\x00") {
			return nil, &ParamError{k, single[k], "must be a single line"}
		}
	}
	for i, a := range p.Arguments {
		if strings.ContainsAny(a, "\n\r\x00") {
			return nil, &ParamError{"Arguments[" + strconv.Itoa(i) + "]", a, "must be a single line"}
		}
	}
	switch {
	case !nameRe.MatchString(p.Name):
		return nil, &ParamError{"Name", p.Name, "must be 1-64 of A-Z a-z 0-9 _ . @ -"}
	case !path.IsAbs(p.Path):
		return nil, &ParamError{"Path", p.Path, "must be an absolute path"}
	case p.UserName != "" && !userRe.MatchString(p.UserName):
		return nil, &ParamError{"UserName", p.UserName, "must be a system user name (lower case, digits, _ -)"}
	case p.ReloadSignal != "" && !signalRe.MatchString(p.ReloadSignal):
		return nil, &ParamError{"ReloadSignal", p.ReloadSignal, "must be a signal name such as HUP"}
	case p.LimitNOFILE < 0:
		return nil, &ParamError{"LimitNOFILE", strconv.Itoa(p.LimitNOFILE), "must not be negative"}
	case p.LogOutput && !path.IsAbs(p.LogDirectory):
		return nil, &ParamError{"LogDirectory", p.LogDirectory, "must be an absolute path"}
	}
	for _, d := range p.Dependencies {
		if !depRe.MatchString(d) || strings.ContainsAny(d, "\n\r\x00") {
			return nil, &ParamError{"Dependencies", d, "must be a single Key=value line such as Wants=time-sync.target"}
		}
	}
	var env []string
	for _, k := range slices.Sorted(maps.Keys(p.EnvVars)) {
		v := p.EnvVars[k]
		if !envRe.MatchString(k) || strings.ContainsAny(v, "\n\r\x00") {
			return nil, &ParamError{"EnvVars", k, "must be NAME=single-line value"}
		}
		env = append(env, "Environment="+k+"="+v)
	}
	limit, output := "", ""
	if p.LimitNOFILE > 0 {
		limit = strconv.Itoa(p.LimitNOFILE)
	}
	if p.LogOutput {
		output = "yes"
	}
	return map[string]any{
		"Description":       p.Description,
		"Path":              p.Path,
		"Name":              p.Name,
		"Dependencies":      p.Dependencies,
		"Arguments":         p.Arguments,
		"ChRoot":            p.ChRoot,
		"WorkingDirectory":  p.WorkingDirectory,
		"UserName":          p.UserName,
		"ReloadSignal":      p.ReloadSignal,
		"PIDFile":           p.PIDFile,
		"LogDirectory":      p.LogDirectory,
		"OutputFileSupport": output,
		"LimitNOFILE":       limit,
		"Restart":           "always",
		"SuccessExitStatus": p.SuccessExitStatus,
		"EnvVars":           env,
	}, nil
}

// quote is kardianos's "cmd" function: wrap in double quotes, escaping quotes.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// funcs are the pipeline functions kardianos offers to templates.
var funcs = map[string]func(string) string{
	"cmd":       quote,
	"cmdEscape": func(s string) string { return strings.ReplaceAll(s, " ", `\x20`) },
}
