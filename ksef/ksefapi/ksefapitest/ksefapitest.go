package ksefapitest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/posagent/posagent/ksef/ksefapi"
)

// ErrNotSet is returned by a fake method whose function field is nil.
var ErrNotSet = errors.New("ksefapitest: function not set")

// api is the method set the agent consumes; both the real client and the fake
// must keep it.
type api interface {
	Authenticate(ctx context.Context) (*ksefapi.Tokens, error)
	OpenOnline(ctx context.Context) (*ksefapi.OnlineSession, error)
	SendInvoice(ctx context.Context, s *ksefapi.OnlineSession, xml []byte, opts ksefapi.SendOptions) (string, error)
	CloseOnline(ctx context.Context, s *ksefapi.OnlineSession) error
	SessionStatus(ctx context.Context, ref string) (*ksefapi.SessionStatus, error)
	WaitSession(ctx context.Context, ref string) (*ksefapi.SessionStatus, error)
	InvoiceStatus(ctx context.Context, sessionRef, invoiceRef string) (*ksefapi.InvoiceStatus, error)
	AllInvoices(ctx context.Context, sessionRef string, failed bool) ([]ksefapi.InvoiceStatus, error)
	DownloadUPO(ctx context.Context, url string) (*ksefapi.UPO, []byte, error)
	InvoiceUPO(ctx context.Context, sessionRef, invoiceRef string) (*ksefapi.UPO, []byte, error)
	SendBatch(ctx context.Context, invoices iter.Seq2[string, []byte], opts ksefapi.BatchOptions) (*ksefapi.BatchResult, error)
	Availability(ctx context.Context) (*ksefapi.Availability, error)
}

var (
	_ api = (*ksefapi.Client)(nil)
	_ api = (*Client)(nil)
)

// Client is a function-field fake of *ksefapi.Client. It records the name of
// every call in Calls. Sessions it hands out are plain
// &ksefapi.OnlineSession{Reference: …} values, usable only with the fake.
type Client struct {
	AuthenticateFunc  func(ctx context.Context) (*ksefapi.Tokens, error)
	OpenOnlineFunc    func(ctx context.Context) (*ksefapi.OnlineSession, error)
	SendInvoiceFunc   func(ctx context.Context, s *ksefapi.OnlineSession, xml []byte, opts ksefapi.SendOptions) (string, error)
	CloseOnlineFunc   func(ctx context.Context, s *ksefapi.OnlineSession) error
	SessionStatusFunc func(ctx context.Context, ref string) (*ksefapi.SessionStatus, error)
	WaitSessionFunc   func(ctx context.Context, ref string) (*ksefapi.SessionStatus, error)
	InvoiceStatusFunc func(ctx context.Context, sessionRef, invoiceRef string) (*ksefapi.InvoiceStatus, error)
	AllInvoicesFunc   func(ctx context.Context, sessionRef string, failed bool) ([]ksefapi.InvoiceStatus, error)
	DownloadUPOFunc   func(ctx context.Context, url string) (*ksefapi.UPO, []byte, error)
	InvoiceUPOFunc    func(ctx context.Context, sessionRef, invoiceRef string) (*ksefapi.UPO, []byte, error)
	SendBatchFunc     func(ctx context.Context, invoices iter.Seq2[string, []byte], opts ksefapi.BatchOptions) (*ksefapi.BatchResult, error)
	AvailabilityFunc  func(ctx context.Context) (*ksefapi.Availability, error)

	mu    sync.Mutex // guards Calls
	Calls []string
}

func (c *Client) record(name string) {
	c.mu.Lock()
	c.Calls = append(c.Calls, name)
	c.mu.Unlock()
}

// CallCount returns how many times the named method was called.
func (c *Client) CallCount(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.Calls {
		if s == name {
			n++
		}
	}
	return n
}

func notSet(name string) error { return fmt.Errorf("%w: %sFunc", ErrNotSet, name) }

// Authenticate calls AuthenticateFunc.
func (c *Client) Authenticate(ctx context.Context) (*ksefapi.Tokens, error) {
	c.record("Authenticate")
	if c.AuthenticateFunc == nil {
		return nil, notSet("Authenticate")
	}
	return c.AuthenticateFunc(ctx)
}

// OpenOnline calls OpenOnlineFunc.
func (c *Client) OpenOnline(ctx context.Context) (*ksefapi.OnlineSession, error) {
	c.record("OpenOnline")
	if c.OpenOnlineFunc == nil {
		return nil, notSet("OpenOnline")
	}
	return c.OpenOnlineFunc(ctx)
}

// SendInvoice calls SendInvoiceFunc.
func (c *Client) SendInvoice(ctx context.Context, s *ksefapi.OnlineSession, xml []byte, opts ksefapi.SendOptions) (string, error) {
	c.record("SendInvoice")
	if c.SendInvoiceFunc == nil {
		return "", notSet("SendInvoice")
	}
	return c.SendInvoiceFunc(ctx, s, xml, opts)
}

// CloseOnline calls CloseOnlineFunc.
func (c *Client) CloseOnline(ctx context.Context, s *ksefapi.OnlineSession) error {
	c.record("CloseOnline")
	if c.CloseOnlineFunc == nil {
		return notSet("CloseOnline")
	}
	return c.CloseOnlineFunc(ctx, s)
}

// SessionStatus calls SessionStatusFunc.
func (c *Client) SessionStatus(ctx context.Context, ref string) (*ksefapi.SessionStatus, error) {
	c.record("SessionStatus")
	if c.SessionStatusFunc == nil {
		return nil, notSet("SessionStatus")
	}
	return c.SessionStatusFunc(ctx, ref)
}

// WaitSession calls WaitSessionFunc.
func (c *Client) WaitSession(ctx context.Context, ref string) (*ksefapi.SessionStatus, error) {
	c.record("WaitSession")
	if c.WaitSessionFunc == nil {
		return nil, notSet("WaitSession")
	}
	return c.WaitSessionFunc(ctx, ref)
}

// InvoiceStatus calls InvoiceStatusFunc.
func (c *Client) InvoiceStatus(ctx context.Context, sessionRef, invoiceRef string) (*ksefapi.InvoiceStatus, error) {
	c.record("InvoiceStatus")
	if c.InvoiceStatusFunc == nil {
		return nil, notSet("InvoiceStatus")
	}
	return c.InvoiceStatusFunc(ctx, sessionRef, invoiceRef)
}

// AllInvoices calls AllInvoicesFunc.
func (c *Client) AllInvoices(ctx context.Context, sessionRef string, failed bool) ([]ksefapi.InvoiceStatus, error) {
	c.record("AllInvoices")
	if c.AllInvoicesFunc == nil {
		return nil, notSet("AllInvoices")
	}
	return c.AllInvoicesFunc(ctx, sessionRef, failed)
}

// DownloadUPO calls DownloadUPOFunc.
func (c *Client) DownloadUPO(ctx context.Context, url string) (*ksefapi.UPO, []byte, error) {
	c.record("DownloadUPO")
	if c.DownloadUPOFunc == nil {
		return nil, nil, notSet("DownloadUPO")
	}
	return c.DownloadUPOFunc(ctx, url)
}

// InvoiceUPO calls InvoiceUPOFunc.
func (c *Client) InvoiceUPO(ctx context.Context, sessionRef, invoiceRef string) (*ksefapi.UPO, []byte, error) {
	c.record("InvoiceUPO")
	if c.InvoiceUPOFunc == nil {
		return nil, nil, notSet("InvoiceUPO")
	}
	return c.InvoiceUPOFunc(ctx, sessionRef, invoiceRef)
}

// SendBatch calls SendBatchFunc.
func (c *Client) SendBatch(ctx context.Context, invoices iter.Seq2[string, []byte], opts ksefapi.BatchOptions) (*ksefapi.BatchResult, error) {
	c.record("SendBatch")
	if c.SendBatchFunc == nil {
		return nil, notSet("SendBatch")
	}
	return c.SendBatchFunc(ctx, invoices, opts)
}

// Availability calls AvailabilityFunc.
func (c *Client) Availability(ctx context.Context) (*ksefapi.Availability, error) {
	c.record("Availability")
	if c.AvailabilityFunc == nil {
		return nil, notSet("Availability")
	}
	return c.AvailabilityFunc(ctx)
}
