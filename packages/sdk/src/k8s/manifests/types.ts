// One rendered document: a typed model (kubernetes-models or a third-party model package) plus the comments the YAML
// output carries. The models come from two majors of @kubernetes-models/base, so this is structural.

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  /** Checks the object against the model's JSON schema; throws when it does not conform. */
  validate(): void;
  toJSON(): Record<string, unknown>;
}

export interface FieldComment {
  /** Path to a field inside the object, e.g. `['spec', 'sha256']`. */
  path: readonly (string | number)[];
  comment: string;
}

export interface ManifestDocument {
  object: KubeObject;
  /** Printed above the document (YAML only). */
  comment?: string;
  /** Printed above single fields (YAML only). */
  fieldComments?: readonly FieldComment[];
}
