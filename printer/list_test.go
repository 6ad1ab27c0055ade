package printer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.bug.st/serial/enumerator"
)

func TestListPortsPrefersByID(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "ttyUSB0")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	byID := filepath.Join(dir, "by-id")
	os.Mkdir(byID, 0o755)
	link := filepath.Join(byID, "usb-Prolific_USB-Serial-if00-port0")
	if err := os.Symlink(dev, link); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(byID, "dangling"))
	enum := func() ([]*enumerator.PortDetails, error) {
		return []*enumerator.PortDetails{
			{Name: "/dev/ttyS0"},
			{Name: dev, IsUSB: true, VID: "067b", PID: "2303", Product: "USB-Serial"},
		}, nil
	}
	got, err := listPorts(byID, enum)
	if err != nil {
		t.Fatal(err)
	}
	want := []PortInfo{
		{Path: link, Device: dev, ByID: true, USB: true, VID: "067b", PID: "2303", Product: "USB-Serial"},
		{Path: "/dev/ttyS0", Device: "/dev/ttyS0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listPorts() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestListPortsWithoutByID(t *testing.T) {
	boom := errors.New("enumeration failed")
	if _, err := listPorts(filepath.Join(t.TempDir(), "none"), func() ([]*enumerator.PortDetails, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("listPorts error = %v, want %v", err, boom)
	}
	got, err := listPorts(filepath.Join(t.TempDir(), "none"), func() ([]*enumerator.PortDetails, error) { return nil, nil })
	if err != nil || len(got) != 0 {
		t.Errorf("listPorts() = %v, %v; want empty", got, err)
	}
}

func TestList(t *testing.T) {
	// Whatever this machine has, List must not fail on a missing by-id folder.
	if _, err := List(); err != nil {
		t.Logf("List: %v (no serial enumeration here)", err)
	}
}
