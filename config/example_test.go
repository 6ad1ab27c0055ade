package config_test

import (
	"fmt"

	"github.com/posagent/posagent/config"
)

func ExampleParse() {
	c, err := config.Parse([]byte(`
[seller]
nip = "5265877635"
name = "Sklep"
address_line1 = "ul. Prosta 1"

[terminal]
id = "KASA01"

[ksef]
environment = "test"

[printer]
port = "/dev/ttyUSB0"
handshake = "xonxoff"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Printer.Port, c.Printer.Baud, c.Printer.Handshake, c.Terminal.Numbering)
	fmt.Println(c.KSeF.ContextType, c.KSeF.ContextValue, c.Policy.OnlineBudget.D())
	// Output:
	// /dev/ttyUSB0 9600 xonxoff {terminal}/{yyyy}/{mm}/{seq:06}
	// Nip 5265877635 3s
}

func ExampleErrors() {
	_, err := config.Parse([]byte(`
[seller]
nip = "5265877636"
name = "Sklep"
address_line1 = "ul. Prosta 1"
[terminal]
id = "KASA01"
[ksef]
environment = "test"
token = "do-not-put-me-here"
[printer]
port = "/dev/ttyUSB0"
handshake = "rtscts"
`))
	fmt.Println(err)
	// Output:
	// ksef.token: secrets are never read from the configuration file; use ksef.token_file or the environment variable POSAGENT_KSEF_TOKEN (a file readable only by its owner)
	// seller.nip: "5265877636" is not a valid NIP (10 digits, no dashes, not starting with 0, with a correct check digit)
	// printer.handshake: "rtscts" is not one of dtrdsr, xonxoff, none
}
