package escpos

import (
	"errors"
	"fmt"
)

// ErrUnknownProfile is returned by LookupProfile for an ID that is not in Profiles.
var ErrUnknownProfile = errors.New("escpos: unknown printer profile")

// ErrInvalidProfile is wrapped by ProfileError when a profile field is out of range.
var ErrInvalidProfile = errors.New("escpos: invalid printer profile")

// ErrInvalidArgument is returned when a command argument is out of the range the
// command can carry (a size of 9, a negative feed, an empty raster).
var ErrInvalidArgument = errors.New("escpos: invalid argument")

// ErrQRTooLarge is wrapped by QRFitError when no module size lets a symbol and its
// quiet zone fit the printable width.
var ErrQRTooLarge = errors.New("escpos: QR code does not fit the paper")

// ErrQRData is returned when QR data is empty or longer than a QR symbol can hold.
var ErrQRData = errors.New("escpos: QR data empty or too long")

// ErrRasterTooWide is returned when an image is wider than the printable width.
var ErrRasterTooWide = errors.New("escpos: raster image wider than the paper")

// ErrTruncated is wrapped by SyntaxError when a stream ends inside a command.
var ErrTruncated = errors.New("escpos: stream ends inside a command")

// ErrRenderTooLarge is returned by Render when the page would exceed MaxRenderHeight.
var ErrRenderTooLarge = errors.New("escpos: rendered page too tall")

// ProfileError reports the profile field that failed validation.
type ProfileError struct {
	Profile string // profile ID
	Field   string // Go field name, e.g. "DotsPerLine"
	Value   any
	Err     error // ErrInvalidProfile
}

func (e *ProfileError) Error() string {
	return fmt.Sprintf("escpos: profile %q: invalid %s %v", e.Profile, e.Field, e.Value)
}

func (e *ProfileError) Unwrap() error { return e.Err }

// QRFitError reports why a QR symbol cannot be printed on a profile's paper.
type QRFitError struct {
	Modules   int // symbol width in modules, without the quiet zone
	Dots      int // printable dots per line
	MinModule int // smallest module size tried, in dots
	Err       error
}

func (e *QRFitError) Error() string {
	return fmt.Sprintf("escpos: QR code of %d modules needs %d dots with its quiet zone at %d dots per module, paper has %d",
		e.Modules, (e.Modules+2*QuietZone)*e.MinModule, e.MinModule, e.Dots)
}

func (e *QRFitError) Unwrap() error { return e.Err }

// SyntaxError reports where Render found a malformed command.
type SyntaxError struct {
	Offset int    // byte offset of the command's first byte
	Cmd    string // e.g. "GS v 0"
	Err    error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("escpos: %s at offset %d: %v", e.Cmd, e.Offset, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }
