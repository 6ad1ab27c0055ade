package main

import (
	"context"
)

func runHelp(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("help", "[VERB]", "Lists the verbs, or shows the flags of one verb.")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		m.usage(m.Stdout)
		return nil
	case 1:
		if pos[0] == "help" {
			m.usage(m.Stdout)
			return nil
		}
		for _, v := range verbs() {
			if v.name == pos[0] {
				return v.run(ctx, m, []string{"-h"})
			}
		}
		return usagef("unknown verb %q", pos[0])
	}
	return usagef("help: want at most one verb")
}
