// Package escpos encodes ESC/POS byte streams for thermal receipt printers and renders
// such streams back to images. It is pure: it writes to the io.Writer it is given and
// never opens ports, sleeps or logs. Pacing, handshakes and status polling belong to
// package printer.
//
// # Concepts
//
// A Profile describes one printer model: dots per line, Font A columns, the code page
// selected with ESC t n and the charset it maps to, whether QR codes can be printed
// natively (GS ( k) and how paper is cut. A small curated set derived from the
// escpos-printer-db capabilities data is available through Profiles and LookupProfile;
// every field may be overridden by configuration and checked again with Validate.
//
// A Writer turns calls (Init, Line, Style, Align, QRNative, QRRaster, Cut, …) into bytes.
// Its errors are sticky, like bufio.Writer's: after the first failure every call is a
// no-op and Err reports it. QR methods also return their error so a caller may fall
// back, for example from native to raster, or to a lower error-correction level.
//
// Text is converted to the profile's charset with golang.org/x/text charmaps. A
// character the code page lacks is transliterated (ą→a, €→EUR, „→") and never sent
// as '?'. Control characters in text are dropped, so text can never inject commands.
//
// SetCodePage switches code page mid-stream; SelfTest writes the page a technician
// prints to choose a code page and a QR mode.
//
// Render interprets any byte stream — not only this package's output — into a Page:
// an image for previews, the printed text lines, and the graphics (rasters and QR
// symbols re-encoded from their stored data) with their positions, for tests.
//
// # Caveats
//
// Native QR leaves the choice of symbol version to the printer; the fit check assumes
// the printer picks the smallest version in byte mode, as Epson firmware does. The
// fit check ([FitQR]) reads that version from the byte-mode capacity table of
// ISO/IEC 18004 and never encodes: a native QR costs no encoding at all, a raster
// one exactly one encode ([EncodeQR], milliseconds: the encoder scores all eight
// masks), and only for a symbol that fits.
//
// A Writer sends few command bytes: Style sets bold and size in one ESC !;
// QRNative resends the model, module size and EC level only when they change
// within a job (the printer keeps them until ESC @); QRRaster sends the symbol
// without its quiet zone, which it leaves to the paper (centring, a feed above
// and below), and caps raster modules at DefaultMaxRasterModule dots.
//
// The status replies (DLE EOT, ASB, XON/XOFF) are parsed in status.go.
package escpos
