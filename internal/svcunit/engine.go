package svcunit

import (
	"fmt"
	"strings"
)

// The renderer below implements the documented syntax of kardianos/service
// v1.3 templates, so Render can produce the unit without installing it. It
// works in one pass: parse into a tree, then walk the tree with the data.

type nodeKind int

const (
	textNode  nodeKind = iota
	valueNode          // {{Key | fn}} or {{.}}
	ifNode             // {{if Key}} body {{else}} alt {{end}}
	rangeNode          // {{range Key}} body {{end}}
)

type tnode struct {
	kind      nodeKind
	text      string // literal text, or the key
	fns       []string
	body, alt []tnode
}

// tparser consumes the template source left to right.
type tparser struct {
	src      string
	trimNext bool // the last action ended with "-}}"
}

// parse reads nodes until end of input or one of the stop keywords, which it
// returns.
func (p *tparser) parse(stops ...string) ([]tnode, string, error) {
	var nodes []tnode
	for {
		open := strings.Index(p.src, "{{")
		lit := p.src
		if open >= 0 {
			lit = p.src[:open]
		}
		if p.trimNext {
			lit = strings.TrimLeft(lit, " \t\r\n")
		}
		if open < 0 {
			if lit != "" {
				nodes = append(nodes, tnode{kind: textNode, text: lit})
			}
			p.src = ""
			if len(stops) > 0 {
				return nil, "", fmt.Errorf("%w: missing {{end}}", ErrTemplate)
			}
			return nodes, "", nil
		}
		n := strings.Index(p.src[open:], "}}")
		if n < 0 {
			return nil, "", fmt.Errorf("%w: unclosed {{", ErrTemplate)
		}
		action := p.src[open+2 : open+n]
		p.src = p.src[open+n+2:]
		if a, ok := strings.CutPrefix(action, "-"); ok {
			lit, action = strings.TrimRight(lit, " \t\r\n"), a
		}
		action, p.trimNext = strings.CutSuffix(action, "-")
		action = strings.TrimSpace(action)
		if lit != "" {
			nodes = append(nodes, tnode{kind: textNode, text: lit})
		}

		word, rest, _ := strings.Cut(action, " ")
		switch word {
		case "end", "else":
			for _, s := range stops {
				if s == word {
					return nodes, word, nil
				}
			}
			return nil, "", fmt.Errorf("%w: unexpected {{%s}}", ErrTemplate, word)
		case "if", "range":
			key := strings.TrimSpace(rest)
			if key == "" {
				return nil, "", fmt.Errorf("%w: {{%s}} without a key", ErrTemplate, word)
			}
			nd := tnode{kind: ifNode, text: key}
			var stop string
			var err error
			if word == "range" {
				nd.kind = rangeNode
				nd.body, _, err = p.parse("end")
			} else if nd.body, stop, err = p.parse("else", "end"); err == nil && stop == "else" {
				nd.alt, _, err = p.parse("end")
			}
			if err != nil {
				return nil, "", err
			}
			nodes = append(nodes, nd)
		default:
			parts := strings.Split(action, "|")
			nd := tnode{kind: valueNode, text: strings.TrimSpace(parts[0])}
			for _, f := range parts[1:] {
				nd.fns = append(nd.fns, strings.TrimSpace(f))
			}
			nodes = append(nodes, nd)
		}
	}
}

func render(tmpl string, data map[string]any) (string, error) {
	p := &tparser{src: tmpl}
	nodes, _, err := p.parse()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := exec(&b, nodes, data, ""); err != nil {
		return "", err
	}
	return b.String(), nil
}

func lookup(data map[string]any, dot, key string) (any, error) {
	if key == "." {
		return dot, nil
	}
	v, ok := data[key]
	if !ok {
		return nil, fmt.Errorf("%w: unknown key %q", ErrTemplate, key)
	}
	return v, nil
}

func exec(b *strings.Builder, nodes []tnode, data map[string]any, dot string) error {
	for _, n := range nodes {
		switch n.kind {
		case textNode:
			b.WriteString(n.text)
		case valueNode:
			v, err := lookup(data, dot, n.text)
			if err != nil {
				return err
			}
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("%w: %q is a list, not a string", ErrTemplate, n.text)
			}
			for _, name := range n.fns {
				f, ok := funcs[name]
				if !ok {
					return fmt.Errorf("%w: unknown function %q", ErrTemplate, name)
				}
				s = f(s)
			}
			b.WriteString(s)
		case ifNode:
			v, err := lookup(data, dot, n.text)
			if err != nil {
				return err
			}
			branch := n.alt
			if s, ok := v.(string); ok && s != "" {
				branch = n.body
			} else if l, ok := v.([]string); ok && len(l) > 0 {
				branch = n.body
			}
			if err := exec(b, branch, data, dot); err != nil {
				return err
			}
		case rangeNode:
			v, err := lookup(data, dot, n.text)
			if err != nil {
				return err
			}
			list, ok := v.([]string)
			if !ok {
				return fmt.Errorf("%w: %q is not a list", ErrTemplate, n.text)
			}
			for _, item := range list {
				if err := exec(b, n.body, data, item); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
