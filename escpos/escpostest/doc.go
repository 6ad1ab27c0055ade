// Package escpostest helps tests check printed ESC/POS output: it decodes the QR
// symbols of a rendered Page with an independent decoder (gozxing, a ZXing port), and
// compares byte streams against golden files.
//
// DecodeQR crops one graphic and adds a white border, so each symbol is decoded
// alone with the PURE_BARCODE and TRY_HARDER hints. Golden reports the first
// differing offset with a short hex window instead of dumping binaries. KOD1,
// KOD2RSA and KOD2EC return KSeF verification links of realistic shape and length.
package escpostest
