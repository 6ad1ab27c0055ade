package till

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/posagent/posagent/ksef"
)

// DecodeSale decodes and validates the body of POST /v1/sales. It is strict: one
// JSON object, no trailing data, no unknown or wrongly cased fields, amounts and
// quantities as exact decimals. It returns a *Problem (status 400 for a body
// that is not a sale, 422 for a sale that breaks the invoice rules) naming the
// JSON path of the first problem — of every problem for rule violations.
func DecodeSale(body []byte) (ksef.Sale, error) {
	var s ksef.Sale
	if err := decodeStrict(body, &s); err != nil {
		return ksef.Sale{}, err
	}
	if err := s.Validate(); err != nil {
		return ksef.Sale{}, validationProblem(&s, err)
	}
	return s, nil
}

// correctionBody is the JSON body of POST /v1/invoices/{id}/corrections.
type correctionBody struct {
	Reason string      `json:"reason"`
	Type   int         `json:"type"`
	Lines  []ksef.Line `json:"lines"`
}

// decodeCorrection decodes a correction body; the line rules are checked by
// the core, which knows the original invoice.
func decodeCorrection(body []byte) (correctionBody, error) {
	var c correctionBody
	if err := decodeStrict(body, &c); err != nil {
		return correctionBody{}, err
	}
	if c.Type < 0 || c.Type > 3 {
		return correctionBody{}, fieldProblem(http.StatusUnprocessableEntity, CodeInvalidCorrection, "type", fmt.Sprintf("want 1, 2 or 3 (0 leaves it out), got %d", c.Type))
	}
	if strings.TrimSpace(c.Reason) == "" && c.Reason != "" {
		return correctionBody{}, fieldProblem(http.StatusUnprocessableEntity, CodeInvalidText, "reason", "blank")
	}
	if c.Lines == nil {
		// An explicit empty list cancels in full; a missing one is a mistake.
		return correctionBody{}, fieldProblem(http.StatusUnprocessableEntity, CodeFieldRequired, "lines", "required: the rows after the correction ([] cancels the invoice in full)")
	}
	return c, nil
}

// modeBody is the JSON body of POST /v1/mode.
type modeBody struct {
	Mode string `json:"mode"`
	// Reference, with offline, emergency or total_failure, records the MF
	// announcement of that period (Core.Announce).
	Reference string `json:"reference,omitempty"`
}

// decodeStrict decodes exactly one JSON value into v (a pointer to a struct).
// A generic pass first checks syntax and shape against v's type, so that
// every failure has a path; the typed decode after it cannot then fail.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return newProblem(http.StatusBadRequest, CodeEmptyBody, "the request body is empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return syntaxProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return newProblem(http.StatusBadRequest, CodeTrailingData, fmt.Sprintf("unexpected data after the JSON value at offset %d", dec.InputOffset()))
	}
	dup, text := scanStrings(body)
	if dup != nil {
		return dup
	}
	if p := walk(reflect.TypeOf(v).Elem(), tree, ""); p != nil {
		return p
	}
	if text != nil {
		// encoding/json turns these into U+FFFD, which the rules would
		// report as a forbidden character: name the real problem.
		return text
	}
	dec = json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The shape check above should have caught it; report without a path.
		return newProblem(http.StatusBadRequest, CodeWrongType, "the body does not match the schema: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// scanStrings finds, in a syntactically valid body, the first object key
// given twice (dup) and the first string value that is not text (text).
//
// Duplicates: encoding/json would silently keep the last, so that
// {"quantity":"1","quantity":"-5"} could mean different things to the till
// and to a proxy that logged it. Text: a lone UTF-16 surrogate escape
// ("\ud800" without its pair) or bytes that are not UTF-8, which
// encoding/json replaces with U+FFFD. It is a byte scanner, not
// json.Decoder.Token, which would cost more than the decoding itself.
func scanStrings(body []byte) (dup, text *Problem) {
	type frame struct {
		path      string
		object    bool
		keys      map[string]bool
		expectKey bool
		key       string // the key whose value comes next
		index     int    // arrays: the index of the current element
	}
	var stack []*frame
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.object {
			return join(f.path, f.key)
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			stack = append(stack, &frame{path: child(), object: true, keys: map[string]bool{}, expectKey: true})
		case '[':
			stack = append(stack, &frame{path: child()})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if len(stack) > 0 {
				if f := stack[len(stack)-1]; f.object {
					f.expectKey = true
				} else {
					f.index++
				}
			}
		case '"':
			j := i + 1
			escaped := false
			for ; j < len(body) && body[j] != '"'; j++ {
				if body[j] == '\\' {
					escaped = true
					j++
				}
			}
			if j >= len(body) {
				return nil, text // unterminated: the syntax check reports it
			}
			isKey := false
			if len(stack) > 0 {
				if f := stack[len(stack)-1]; f.object && f.expectKey {
					isKey = true
					key := string(body[i+1 : j])
					if escaped {
						if json.Unmarshal(body[i:j+1], &key) != nil {
							return nil, text
						}
					}
					if f.keys[key] {
						return fieldProblem(http.StatusBadRequest, CodeDuplicateField, join(f.path, key), "given more than once"), text
					}
					f.keys[key] = true
					f.key, f.expectKey = key, false
				}
			}
			if !isKey && text == nil {
				// A key that is not text is an unknown field: walk says so.
				if reason := notText(body[i+1:j], i+1); reason != "" {
					field := child()
					if field == "" {
						field = "(body)"
					}
					text = fieldProblem(http.StatusUnprocessableEntity, CodeInvalidText, field, reason)
				}
			}
			i = j
		}
	}
	return nil, text
}

// notText says why the raw content of a JSON string literal starting at
// body offset off is not text, or returns "".
func notText(lit []byte, off int) string {
	if !utf8.Valid(lit) {
		for k := 0; k < len(lit); {
			r, n := utf8.DecodeRune(lit[k:])
			if r == utf8.RuneError && n <= 1 {
				return fmt.Sprintf("not valid UTF-8: byte 0x%02X at offset %d of the body", lit[k], off+k)
			}
			k += n
		}
	}
	for k := 0; k+1 < len(lit); k++ {
		if lit[k] != '\\' {
			continue
		}
		if lit[k+1] != 'u' {
			k++ // a two-character escape, such as \\ or \"
			continue
		}
		u, ok := hex4(lit[k+2:])
		switch {
		case !ok:
			return "" // malformed: the syntax check reports it
		case u >= 0xD800 && u <= 0xDBFF:
			if v, ok := hex4(lit[min(k+8, len(lit)):]); ok && k+7 < len(lit) && lit[k+6] == '\\' && lit[k+7] == 'u' && v >= 0xDC00 && v <= 0xDFFF {
				k += 11 // a whole pair: one character beyond U+FFFF
				continue
			}
			return fmt.Sprintf("a lone UTF-16 surrogate \\u%04X at offset %d of the body: the high half of a pair without its low half is not a character", u, off+k)
		case u >= 0xDC00 && u <= 0xDFFF:
			return fmt.Sprintf("a lone UTF-16 surrogate \\u%04X at offset %d of the body: the low half of a pair without its high half is not a character", u, off+k)
		}
		k += 5
	}
	return ""
}

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func syntaxProblem(err error) *Problem {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return newProblem(http.StatusBadRequest, CodeMalformedJSON, fmt.Sprintf("malformed JSON at offset %d: %s", se.Offset, se.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, CodeMalformedJSON, "malformed JSON: unexpected end of input")
	}
	return newProblem(http.StatusBadRequest, CodeMalformedJSON, "malformed JSON")
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walk checks the generic JSON value v against the Go type t the way
// encoding/json would decode it, but with exact-case field names and a JSON
// path for every failure. null is accepted anywhere, as encoding/json leaves
// the target unchanged.
func walk(t reflect.Type, v any, path string) *Problem {
	if v == nil {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return walkUnmarshaler(t, v, path)
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		str, ok := v.(string)
		if !ok {
			return typeProblem(path, "a string", v)
		}
		err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(str))
		if err == nil {
			return nil
		}
		if errors.Is(err, ksef.ErrDate) {
			return fieldProblem(http.StatusBadRequest, CodeInvalidDate, path, fmt.Sprintf("%q is not a date YYYY-MM-DD", str))
		}
		return fieldProblem(http.StatusBadRequest, CodeWrongType, path, fmt.Sprintf("%q is not valid here", str))
	}
	switch t.Kind() {
	case reflect.Pointer:
		return walk(t.Elem(), v, path)
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return typeProblem(path, "an object", v)
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if _, ok := fields[k]; !ok {
				return fieldProblem(http.StatusBadRequest, CodeUnknownField, join(path, k), "unknown field")
			}
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name := jsonName(f)
			if name == "" {
				continue
			}
			if val, ok := obj[name]; ok {
				if p := walk(f.Type, val, join(path, name)); p != nil {
					return p
				}
			}
		}
		return nil
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return typeProblem(path, "an array", v)
		}
		for i, e := range arr {
			if p := walk(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i)); p != nil {
				return p
			}
		}
		return nil
	case reflect.String:
		if _, ok := v.(string); !ok {
			return typeProblem(path, "a string", v)
		}
		return nil
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return typeProblem(path, "true or false", v)
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return typeProblem(path, "an integer", v)
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			return fieldProblem(http.StatusBadRequest, CodeWrongType, path, fmt.Sprintf("want an integer, got %s", n))
		}
		return nil
	}
	return typeProblem(path, "a supported value", v)
}

// walkUnmarshaler checks a value of a type with its own JSON decoding (amounts,
// quantities, dates) by running that decoding on the value's text.
func walkUnmarshaler(t reflect.Type, v any, path string) *Problem {
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case json.Number:
		text = string(x)
	default:
		return typeProblem(path, "a decimal string", v)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return typeProblem(path, "a decimal string", v)
	}
	u := reflect.New(t).Interface().(json.Unmarshaler)
	err = u.UnmarshalJSON(raw)
	if errors.Is(err, ksef.ErrOutOfRange) {
		// A line's quantity or unit price beyond the bounds breaks a rule
		// (422) with its documented code; it is not a malformed body (400).
		if p := outOfRange(path, text); p != nil {
			return p
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ksef.ErrAmount):
		if tooManyDecimals(text, 2) {
			return fieldProblem(http.StatusBadRequest, CodeTooManyDecimals, path, fmt.Sprintf("%q has more than 2 decimals", text))
		}
		return fieldProblem(http.StatusBadRequest, CodeInvalidAmount, path, fmt.Sprintf("%q is not an amount such as \"12.34\"", text))
	case errors.Is(err, ksef.ErrQuantity):
		if tooManyDecimals(text, 6) {
			return fieldProblem(http.StatusBadRequest, CodeTooManyDecimals, path, fmt.Sprintf("%q has more than 6 decimals", text))
		}
		return fieldProblem(http.StatusBadRequest, CodeInvalidQuantity, path, fmt.Sprintf("%q is not a quantity such as \"1.5\"", text))
	}
	return fieldProblem(http.StatusBadRequest, CodeWrongType, path, fmt.Sprintf("%q is not valid here", text))
}

// outOfRange is the problem of a line's quantity beyond 10^9 or unit price
// beyond 10^13, the codes the API documents for them; nil for any other
// field, whose bound answers as a malformed value.
func outOfRange(path, text string) *Problem {
	_, sub, ok := lineField(path)
	switch {
	case ok && sub == "quantity":
		return fieldProblem(http.StatusUnprocessableEntity, CodeQuantityOutOfRange, path, fmt.Sprintf("%s is beyond 10^9", text))
	case ok && sub == "unit_price":
		return fieldProblem(http.StatusUnprocessableEntity, CodePriceOutOfRange, path, fmt.Sprintf("%s is beyond 10^13", text))
	}
	return nil
}

// tooManyDecimals reports whether s is a plain decimal whose fraction has
// significant digits beyond scale.
func tooManyDecimals(s string, scale int) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || whole == "" || !digits(whole) || !digits(frac) {
		return false
	}
	return len(strings.TrimRight(frac, "0")) > scale
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func typeProblem(path, want string, got any) *Problem {
	field := path
	if field == "" {
		field = "(body)"
	}
	return fieldProblem(http.StatusBadRequest, CodeWrongType, field, fmt.Sprintf("want %s, got %s", want, jsonKind(got)))
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

// fieldCache maps a struct type to its JSON field names.
var fieldCache sync.Map // reflect.Type -> map[string]bool

func jsonFields(t reflect.Type) map[string]bool {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		if n := jsonName(t.Field(i)); n != "" {
			m[n] = true
		}
	}
	fieldCache.Store(t, m)
	return m
}
