package svcunit

// Template is the systemd unit in kardianos/service's template syntax.
const Template = `[Unit]
Description={{Description}}
Documentation=https://github.com/posagent/posagent
ConditionFileIsExecutable={{Path | cmdEscape}}
After=network.target
StartLimitIntervalSec=0
{{range Dependencies}}{{.}}
{{end}}
[Service]
Type=simple
ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}
{{if ChRoot}}RootDirectory={{ChRoot | cmd}}
{{end}}{{if WorkingDirectory}}WorkingDirectory={{WorkingDirectory | cmdEscape}}
{{end}}User={{if UserName}}{{UserName}}{{else}}posagent{{end}}
Group={{if UserName}}{{UserName}}{{else}}posagent{{end}}
SupplementaryGroups=dialout
{{if ReloadSignal}}ExecReload=/bin/kill -{{ReloadSignal}} "$MAINPID"
{{end}}{{if PIDFile}}PIDFile={{PIDFile | cmd}}
{{end}}{{if LimitNOFILE}}LimitNOFILE={{LimitNOFILE}}
{{end}}{{if SuccessExitStatus}}SuccessExitStatus={{SuccessExitStatus}}
{{end}}Restart=always
RestartSec=2
TimeoutStopSec=30
KillMode=mixed
KillSignal=SIGTERM
StateDirectory=posagent
StateDirectoryMode=0750
ConfigurationDirectory=posagent
ConfigurationDirectoryMode=0750
EnvironmentFile=-/etc/default/{{Name}}
{{range EnvVars}}{{.}}
{{end}}{{if OutputFileSupport}}StandardOutput=append:{{LogDirectory}}/{{Name}}.out
StandardError=append:{{LogDirectory}}/{{Name}}.err
ReadWritePaths={{LogDirectory}}
{{end}}# Sandbox. No PrivateDevices, ProtectClock or DeviceAllow: each closes the
# device policy, and the serial printer with it.
UMask=0027
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/posagent
PrivateTmp=yes
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
`
