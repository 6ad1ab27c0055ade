package openapischema

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/posagent/posagent/internal/testutil"
)

// OfficialPath is the path of the official OpenAPI document under testdata.
const OfficialPath = "ksef/api/open-api.json"

// resourceURL names the rewritten document inside the compiler; it never touches
// the network.
const resourceURL = "urn:ksef:open-api.json"

// Doc is a loaded OpenAPI document whose component schemas can validate JSON.
// It is safe for concurrent use.
type Doc struct {
	names    map[string]bool
	compiler *jsonschema.Compiler

	mu       sync.Mutex // guards compiled and compiler
	compiled map[string]*jsonschema.Schema
}

var (
	officialOnce sync.Once
	official     *Doc
	officialErr  error
)

// Load returns the official document (loaded once per test binary) and fails
// the test if it cannot be read.
func Load(t testing.TB) *Doc {
	t.Helper()
	officialOnce.Do(func() {
		official, officialErr = LoadFile(testutil.Official(OfficialPath))
	})
	if officialErr != nil {
		t.Fatalf("openapischema: %v", officialErr)
	}
	return official
}

// LoadFile reads an OpenAPI 3.0 JSON document and prepares its component schemas.
func LoadFile(path string) (*Doc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read openapi: %w", err)
	}
	return Parse(raw)
}

// Parse prepares the component schemas of an OpenAPI 3.0 JSON document.
func Parse(raw []byte) (*Doc, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse openapi: %w", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("openapischema: document is not a JSON object")
	}
	comps, _ := root["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	if len(schemas) == 0 {
		return nil, errors.New("openapischema: no components.schemas")
	}
	names := make(map[string]bool, len(schemas))
	for name, s := range schemas {
		names[name] = true
		schemas[name] = rewrite(s)
	}
	doc := map[string]any{"components": map[string]any{"schemas": schemas}}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "byte", Validate: validateByte})
	c.RegisterFormat(&jsonschema.Format{Name: "int32", Validate: intRange(math.MinInt32, math.MaxInt32)})
	c.RegisterFormat(&jsonschema.Format{Name: "int64", Validate: intRange(math.MinInt64, math.MaxInt64)})
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, fmt.Errorf("add openapi resource: %w", err)
	}
	return &Doc{names: names, compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
}

// Has reports whether the document declares the component schema.
func (d *Doc) Has(name string) bool { return d.names[name] }

// Validate checks a JSON body against #/components/schemas/<name>.
func (d *Doc) Validate(name string, body []byte) error {
	sch, err := d.schema(name)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("openapischema: %s: body is not JSON: %w", name, err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("openapischema: %s: %w", name, err)
	}
	return nil
}

// ValidateValue marshals v to JSON and validates it like Validate.
func (d *Doc) ValidateValue(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("openapischema: marshal: %w", err)
	}
	return d.Validate(name, b)
}

func (d *Doc) schema(name string) (*jsonschema.Schema, error) {
	if !d.names[name] {
		return nil, fmt.Errorf("openapischema: unknown component schema %q", name)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.compiled[name]; ok {
		return s, nil
	}
	s, err := d.compiler.Compile(resourceURL + "#/components/schemas/" + name)
	if err != nil {
		return nil, fmt.Errorf("openapischema: compile %s: %w", name, err)
	}
	d.compiled[name] = s
	return s, nil
}

// rewrite turns OpenAPI 3.0 "nullable" into JSON Schema, recursively.
func rewrite(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			x[k] = rewrite(sub)
		}
		if n, ok := x["nullable"].(bool); ok {
			delete(x, "nullable")
			if n {
				return map[string]any{"anyOf": []any{map[string]any{"type": "null"}, x}}
			}
		}
		return x
	case []any:
		for i, sub := range x {
			x[i] = rewrite(sub)
		}
		return x
	default:
		return v
	}
}

func validateByte(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil // format applies to strings only
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return fmt.Errorf("not standard Base64: %w", err)
	}
	return nil
}

func intRange(lo, hi float64) func(any) error {
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return nil
		}
		f, err := n.Float64()
		if err != nil {
			return err
		}
		if f < lo || f > hi || f != math.Trunc(f) {
			return fmt.Errorf("%s out of range", n)
		}
		return nil
	}
}
