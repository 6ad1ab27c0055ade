package main

import "context"

func runRun(ctx context.Context, m *Main, args []string) error  { return nil }
func runDemo(ctx context.Context, m *Main, args []string) error { return nil }
