/**
 * Which JSON Schema keywords the compiler enforces, which it ignores because they never constrain
 * an instance (annotations), and which it refuses. Keys outside the JSON Schema vocabularies are
 * not keywords (validators ignore them, e.g. `x-kubernetes-*`) and are ignored unless the caller
 * asks for `strict`.
 */
export const IMPLEMENTED = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'patternProperties', 'minProperties', 'maxProperties',
  'items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems', 'enum', 'const', 'anyOf', 'oneOf', 'allOf',
  '$ref', '$defs', 'definitions', 'nullable', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'uniqueItems',
  // internal: extra patterns collected when allOf merges two `pattern`s
  '__patterns',
]);

export const ANNOTATIONS = new Set([
  'title', 'description', 'examples', 'example', 'default', '$schema', '$id', 'id', '$comment', 'readOnly',
  'writeOnly', 'deprecated', '$anchor', 'contentEncoding', 'contentMediaType', '$vocabulary', 'discriminator',
  'xml', 'externalDocs',
]);

/** Validation keywords of drafts 4 to 2020-12 that this engine does not enforce. */
export const UNSUPPORTED = new Set([
  'not', 'if', 'then', 'else', 'contains', 'minContains', 'maxContains', 'dependencies', 'dependentRequired',
  'dependentSchemas', 'propertyNames', 'unevaluatedProperties', 'unevaluatedItems', '$dynamicRef',
  '$dynamicAnchor', '$recursiveRef', '$recursiveAnchor', 'contentSchema',
]);
