// Properties (proxy_get_property) as Envoy resolves and serialises them: the path is NUL-separated; the first
// segment names a top-level attribute, later segments walk maps (by key), messages (by field name) and lists (by
// index). Values are serialised like Envoy's `serializeValue`: strings and bytes raw, integers and timestamps as 8
// little-endian bytes, doubles as IEEE-754, bools as one byte, maps as serialised pairs (values serialised
// recursively), lists as pairs with empty values, protobuf messages as their wire encoding.

import { serializePairs } from './pairs';

export type PropertyValue =
  | { kind: 'string'; value: string }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'int'; value: bigint }
  | { kind: 'uint'; value: bigint }
  | { kind: 'double'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'timestamp'; nanos: bigint }
  | { kind: 'null' }
  | { kind: 'map'; entries: Map<string, PropertyValue> }
  | { kind: 'list'; items: PropertyValue[] }
  | { kind: 'message'; encode: () => Uint8Array; field: (name: string) => PropertyValue | undefined };

/** Envoy's node (bootstrap `node`): what Istio's agent writes and a plugin reads as `node.*`. */
export interface EnvoyNode {
  id: string;
  cluster: string;
  /** google.protobuf.Struct: strings, numbers (doubles), booleans, null, nested objects and arrays. */
  metadata: Record<string, unknown>;
}

export const str = (value: string): PropertyValue => ({ kind: 'string', value });
export const int = (value: number | bigint): PropertyValue => ({ kind: 'int', value: BigInt(value) });
export const uint = (value: number | bigint): PropertyValue => ({ kind: 'uint', value: BigInt(value) });
export const bool = (value: boolean): PropertyValue => ({ kind: 'bool', value });
export const map = (entries: Record<string, PropertyValue | undefined>): PropertyValue => ({
  kind: 'map',
  entries: new Map(Object.entries(entries).filter((e): e is [string, PropertyValue] => e[1] !== undefined)),
});

/** Splits an ABI property path; a trailing NUL (some SDKs send one) does not add an empty segment. */
export function splitPropertyPath(path: Uint8Array): string[] {
  const text = Buffer.from(path).toString('utf8');
  const parts = text.split('\0');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function lookupProperty(
  segments: readonly string[],
  topLevel: (name: string) => PropertyValue | undefined,
): PropertyValue | undefined {
  if (segments.length === 0 || segments[0] === '') return undefined;
  let value = topLevel(segments[0]);
  for (const part of segments.slice(1)) {
    if (value === undefined) return undefined;
    switch (value.kind) {
      case 'map':
        value = value.entries.get(part);
        break;
      case 'message':
        value = value.field(part);
        break;
      case 'list': {
        const index = /^\d+$/.test(part) ? Number(part) : -1;
        value = index >= 0 && index < value.items.length ? value.items[index] : undefined;
        break;
      }
      default:
        return undefined;
    }
  }
  return value;
}

/** Returns undefined where Envoy answers SERIALIZATION_FAILURE. */
export function serializeProperty(value: PropertyValue): Uint8Array | undefined {
  switch (value.kind) {
    case 'string':
      return Buffer.from(value.value, 'utf8');
    case 'bytes':
      return value.value;
    case 'int':
    case 'timestamp': {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt.asIntN(64, value.kind === 'int' ? value.value : value.nanos));
      return b;
    }
    case 'uint': {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt.asUintN(64, value.value));
      return b;
    }
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(value.value);
      return b;
    }
    case 'bool':
      return Buffer.from([value.value ? 1 : 0]);
    case 'map': {
      const pairs: [Uint8Array, Uint8Array][] = [];
      for (const [k, v] of value.entries) {
        const serialized = serializeProperty(v);
        if (serialized === undefined) return undefined;
        pairs.push([Buffer.from(k, 'utf8'), serialized]);
      }
      return serializePairs(pairs);
    }
    case 'list': {
      const pairs: [Uint8Array, Uint8Array][] = [];
      for (const item of value.items) {
        const serialized = serializeProperty(item);
        if (serialized === undefined) return undefined;
        pairs.push([serialized, new Uint8Array(0)]);
      }
      return serializePairs(pairs);
    }
    case 'message':
      return value.encode();
    case 'null':
      return undefined;
  }
}

/** CEL's view of a google.protobuf.Struct value: objects are maps, numbers are doubles. */
export function fromStructValue(value: unknown): PropertyValue {
  if (value === null || value === undefined) return { kind: 'null' };
  if (typeof value === 'string') return str(value);
  if (typeof value === 'number') return { kind: 'double', value };
  if (typeof value === 'boolean') return bool(value);
  if (Array.isArray(value)) return { kind: 'list', items: value.map(fromStructValue) };
  if (typeof value === 'object') {
    return {
      kind: 'map',
      entries: new Map(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fromStructValue(v)])),
    };
  }
  return str(String(value));
}

export function nodeProperty(node: EnvoyNode): PropertyValue {
  const fields: Record<string, () => PropertyValue> = {
    id: () => str(node.id),
    cluster: () => str(node.cluster),
    metadata: () => fromStructValue(node.metadata),
    user_agent_name: () => str('envoy'),
  };
  return {
    kind: 'message',
    field: (name) => fields[name]?.(),
    encode: () => encodeNode(node),
  };
}

// --- protobuf wire encoding for envoy.config.core.v3.Node and google.protobuf.Struct ---

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(payload.length)]), payload]);
}

function stringField(field: number, value: string): Buffer {
  return lengthDelimited(field, Buffer.from(value, 'utf8'));
}

function encodeStructValue(value: unknown): Buffer {
  if (value === null || value === undefined) return Buffer.from([...varint((1 << 3) | 0), 0]);
  if (typeof value === 'number') {
    const b = Buffer.alloc(9);
    b[0] = (2 << 3) | 1;
    b.writeDoubleLE(value, 1);
    return b;
  }
  if (typeof value === 'string') return stringField(3, value);
  if (typeof value === 'boolean') return Buffer.from([(4 << 3) | 0, value ? 1 : 0]);
  if (Array.isArray(value))
    return lengthDelimited(6, Buffer.concat(value.map((v) => lengthDelimited(1, encodeStructValue(v)))));
  if (typeof value === 'object') return lengthDelimited(5, encodeStruct(value as Record<string, unknown>));
  return stringField(3, String(value));
}

export function encodeStruct(struct: Record<string, unknown>): Buffer {
  return Buffer.concat(
    Object.entries(struct).map(([k, v]) =>
      lengthDelimited(1, Buffer.concat([stringField(1, k), lengthDelimited(2, encodeStructValue(v))])),
    ),
  );
}

function encodeNode(node: EnvoyNode): Buffer {
  return Buffer.concat([
    stringField(1, node.id),
    stringField(2, node.cluster),
    lengthDelimited(3, encodeStruct(node.metadata)),
    stringField(6, 'envoy'),
  ]);
}
