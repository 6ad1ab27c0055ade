// Package openapischema validates JSON bodies against the component schemas of the
// official KSeF OpenAPI document (testdata/ksef/api/open-api.json).
//
// It is a test helper shared by the KSeF client and the simulator: both must
// produce and accept exactly the shapes the official API declares.
//
// # Concepts
//
// The OpenAPI file is an OpenAPI 3.0 document. Its schemas are close to JSON
// Schema but not equal to it, so Load rewrites them once before compiling with
// santhosh-tekuri/jsonschema (draft 2020-12):
//
//   - "nullable": true becomes anyOf [{"type":"null"}, <the schema without nullable>],
//     because JSON Schema has no nullable keyword and a plain "type" would reject null;
//   - format assertions are on, so "date-time" and "uri" are checked; "byte"
//     (standard Base64, RFC 4648 §4) is registered as a custom format; the numeric
//     formats int32/int64 are checked as integer ranges;
//   - only #/components/schemas is kept: paths and responses are not schemas.
//
// Keywords that are annotations in JSON Schema (description, example, deprecated,
// readOnly) are left alone.
//
// # Caveats
//
// OpenAPI's "discriminator" is not evaluated; oneOf still applies. Schemas are
// validated as written in the file: if the official document is looser than the
// prose docs, so is this check.
package openapischema
