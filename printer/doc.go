// Package printer moves ESC/POS bytes to a receipt printer: it opens ports
// (serial through go.bug.st/serial, TCP 9100, a device or plain file, and an
// in-memory Virtual printer), paces writes in software, asks the printer for
// its status, and runs the single print worker that owns the port.
//
// # Concepts
//
// A Port is only an io.ReadWriter. Everything else a port may offer is an
// optional capability found by type assertion: Drainer (wait until the bytes
// have left), InputFlusher (drop stale replies), ModemStatus (DSR/CTS lines)
// and ReadTimeouter (bound a read). The wide serial.Port of go.bug.st/serial
// is adapted once, by SerialPort, and never passed around.
//
// go.bug.st/serial turns every kind of flow control off, so pacing is done
// here: bytes go out in chunks of at most 128 B, each followed by Drain, and
// before each chunk the Handshake decides whether the printer can take more:
//
//	HandshakeNone    pace by the baud rate alone (10 bits per 8N1 byte)
//	HandshakeDTRDSR  poll DSR (or CTS) until the printer is ready
//	HandshakeXONXOFF a reader tracks XOFF/XON on the RX line
//
// The baud rate is a floor in every mode: a USB adapter's Drain may return
// while its FIFO still holds data, and a printer's handshake only reacts to
// what has already arrived.
//
// One goroutine reads each open port. It feeds an escpos.StatusParser, so
// flow control bytes and status replies share the RX line safely.
//
// A Worker is the only writer to the port. Before a job it flushes the input
// and asks DLE EOT 1, 2 and 4 (and 3 when an error is flagged); a printer
// that is offline, out of paper or open refuses the job with a *StatusError.
// After the job it sends GS r 1 and waits for the answer where the printer
// supports it. Retryable failures are retried with a capped, jittered Backoff;
// a job is abandoned only when it is cancelled, or after MaxAttempts.
//
// A job may be streamed: Job.Data is what is ready now (a receipt's text)
// and Job.Tail returns the rest (raster QR codes take milliseconds to
// encode). The worker writes Data as soon as the printer is ready, starts
// Tail on a goroutine the job owns once Data's first chunk is out, and
// writes the tail's bytes after Data, so the first byte waits neither for
// the encoder nor for a CPU it keeps busy:
//
//	status query ── Data[:128] ─┬─ rest of Data ─┬─ tail bytes ── GS r 1
//	                            └─ Tail() ───────┘
//
// The tail is computed once; retries resend Data and the same tail bytes.
//
// With Options.Journal the worker keeps a durable record of its progress for
// its owner's crash recovery: a job's start is recorded before its first
// byte, and its printed mark as soon as it has left the port, in one write
// with the next job's start when one is queued:
//
//	Record(nil, A) ── A's bytes ── Record([A], B) ── B's bytes ── Record([B], "")
//
// A job has left the port when its last write returned and, on a port that
// can tell (Drainer: tcdrain on a serial line), Drain returned: its bytes are
// in the UART, the USB adapter or the socket, and no crash of this process
// can stop them. The pacing above bounds what an adapter may still hold at
// that moment to one chunk (128 B: 11 ms at 115200 baud, 133 ms at 9600), so
// the mark may come that much before the last byte reaches the printer,
// never later than one journal write after it has left. With Options.Confirm
// a job counts as printed only once the printer answered GS r 1, which
// widens that gap by the printer's own printing time.
//
// # Caveats
//
// A printer that lost bytes (overflow, unplug in the middle of a raster) may
// still be waiting for the rest of a command and would swallow the next job
// as image data. Before retrying after such a failure the worker sends NUL
// padding and ESC @ (see Options.ResyncPad).
//
// A failed Tail (*TailError) ends the job after its Data was printed: the
// paper holds the start of a receipt without its end or cut. Data must end
// between two commands, so the printer stays in sync for the next job. The
// worker waits for a running Tail even while it stops, so a Tail that never
// returns keeps Run from returning; the Tail of a job that never wrote its
// Data is never called.
//
// A write that hangs (an offline printer under flow control) is cut off
// after Options.WriteTimeout by closing the port, which the worker then
// reopens. A port without Close cannot be cut off this way.
//
// The Virtual printer spots queries by scanning the byte stream, so a query
// sequence inside raster data is answered too, as a real printer executes
// real-time commands found in data. Extra answers are ignored as unasked.
package printer
