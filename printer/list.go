package printer

import (
	"os"
	"path/filepath"
	"sort"

	"go.bug.st/serial/enumerator"
)

// PortInfo describes a serial port found by List.
type PortInfo struct {
	// Path is the name to put in the configuration: the stable
	// /dev/serial/by-id link when there is one, else the device node.
	Path string
	// Device is the device node Path resolves to, e.g. /dev/ttyUSB0.
	Device string
	// ByID is true when Path is a /dev/serial/by-id link, which survives
	// re-plugging into another USB socket.
	ByID                   bool
	USB                    bool
	VID, PID, SerialNumber string
	Product                string
}

// byIDDir holds udev's stable names for serial devices.
const byIDDir = "/dev/serial/by-id"

// List returns the serial ports of this machine, preferring the stable
// /dev/serial/by-id links and showing the device each resolves to. Devices
// without a link (built-in UARTs) follow, from the enumerator.
func List() ([]PortInfo, error) {
	return listPorts(byIDDir, func() ([]*enumerator.PortDetails, error) {
		return enumerator.GetDetailedPortsList()
	})
}

func listPorts(dir string, enumerate func() ([]*enumerator.PortDetails, error)) ([]PortInfo, error) {
	var out []PortInfo
	seen := map[string]bool{}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		dev, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue // a dangling link: the device went away while listing
		}
		out = append(out, PortInfo{Path: p, Device: dev, ByID: true, USB: true})
		seen[dev] = true
	}
	details, err := enumerate()
	if err != nil && len(out) == 0 {
		return nil, err
	}
	byDev := map[string]*enumerator.PortDetails{}
	for _, d := range details {
		byDev[d.Name] = d
	}
	for i := range out {
		if d, ok := byDev[out[i].Device]; ok {
			out[i].USB, out[i].VID, out[i].PID = d.IsUSB, d.VID, d.PID
			out[i].SerialNumber, out[i].Product = d.SerialNumber, d.Product
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	var rest []PortInfo
	for _, d := range details {
		if seen[d.Name] {
			continue
		}
		dev := d.Name
		if r, err := filepath.EvalSymlinks(d.Name); err == nil {
			dev = r
		}
		rest = append(rest, PortInfo{Path: d.Name, Device: dev, USB: d.IsUSB, VID: d.VID, PID: d.PID,
			SerialNumber: d.SerialNumber, Product: d.Product})
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Path < rest[j].Path })
	return append(out, rest...), nil
}
