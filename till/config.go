package till

import (
	"errors"
	"fmt"

	"github.com/posagent/posagent/config"
)

// OptionsFromConfig returns the Options of the [till] table: the listen
// address, the body limit and the bearer token from POSAGENT_TILL_TOKEN or
// the token file. No token configured is not an error here; New refuses it
// off loopback. The other fields (Metrics, Logger, Now) are left to the caller.
func OptionsFromConfig(c *config.Config) (Options, error) {
	opts := Options{Listen: c.Till.Listen, MaxBody: int64(c.Till.MaxBody)}
	tok, err := c.Secret(config.SecretTillToken)
	switch {
	case errors.Is(err, config.ErrNoSecret):
	case err != nil:
		return Options{}, fmt.Errorf("till token: %w", err)
	default:
		opts.Token = tok
	}
	return opts, nil
}
