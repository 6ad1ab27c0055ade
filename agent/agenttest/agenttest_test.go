package agenttest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/agenttest"
)

func TestFake(t *testing.T) {
	f := &agenttest.Agent{
		InvoiceFunc: func(_ context.Context, id string) (*agent.View, error) { return &agent.View{ID: id}, nil },
	}
	v, err := f.Invoice(context.Background(), "0000000001")
	if err != nil || v.ID != "0000000001" {
		t.Errorf("Invoice = %v, %v", v, err)
	}
	if err := f.Flush(context.Background()); !errors.Is(err, agenttest.ErrNotSet) {
		t.Errorf("Flush without FlushFunc = %v, want ErrNotSet", err)
	}
	if got, want := f.Calls(), []string{"Invoice", "Flush"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Calls() = %v, want %v", got, want)
	}
}
