package certmgr_test

import (
	"fmt"
	"time"

	"github.com/posagent/posagent/certmgr"
	"github.com/posagent/posagent/certstore"
)

// A certificate is renewed once it has DefaultRenewBefore (30 days) left.
func ExampleManager_RenewDue() {
	m, _ := certmgr.New(certmgr.Options{Store: &certstore.Store{}, API: &counting{}, AutoRenew: true})
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, left := range []int{31, 30, 5} {
		s := certmgr.Status{Info: certstore.Info{Usage: certstore.Offline, NotAfter: now.AddDate(0, 0, left)}}
		fmt.Printf("%d days left: renew %v\n", left, m.RenewDue(s, now))
	}
	// Output:
	// 31 days left: renew false
	// 30 days left: renew true
	// 5 days left: renew true
}
