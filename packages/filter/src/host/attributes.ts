// Envoy's attributes as proxy_get_property's first path segment names them: `node`, `plugin_*`, and for stream
// contexts `request`, `response`, `source`, `destination`, `connection`, plus values the plugin stored with
// proxy_set_property (filter state, read back as bytes). Request attributes come from the stream's request
// headers as last seen (Envoy reads them while the headers are still held).

import type { HttpStream } from './http-stream';
import type { HeaderPair } from './pairs';
import { bool, type EnvoyNode, int, map, nodeProperty, type PropertyValue, str, uint } from './properties';

export interface PluginIdentity {
  readonly node: EnvoyNode;
  readonly pluginName: string;
  readonly rootId: string;
  readonly vmId: string;
}

export function envoyAttribute(
  name: string,
  plugin: PluginIdentity,
  stream: HttpStream | undefined,
): PropertyValue | undefined {
  switch (name) {
    case 'node':
      return nodeProperty(plugin.node);
    case 'plugin_name':
      return str(plugin.pluginName);
    case 'plugin_root_id':
      return str(plugin.rootId);
    case 'plugin_vm_id':
      return str(plugin.vmId);
  }
  if (!stream) return undefined;
  const requestHeaders = stream.requestHeaders;
  const first = (headers: HeaderPair[], key: string) => headers.find(([k]) => k === key)?.[1];
  const asMap = (headers: HeaderPair[]) => {
    const joined: Record<string, PropertyValue> = {};
    for (const [k, v] of headers) {
      const existing = joined[k];
      joined[k] = str(existing && existing.kind === 'string' ? `${existing.value},${v}` : v);
    }
    return map(joined);
  };
  const optional = (value: string | undefined) => (value === undefined ? undefined : str(value));
  const info = stream.info;
  switch (name) {
    case 'request': {
      if (requestHeaders.length === 0) return undefined;
      const fullPath = first(requestHeaders, ':path') ?? '';
      const q = fullPath.indexOf('?');
      return map({
        path: str(fullPath),
        url_path: str(q >= 0 ? fullPath.slice(0, q) : fullPath),
        query: str(q >= 0 ? fullPath.slice(q + 1) : ''),
        host: optional(first(requestHeaders, ':authority')),
        scheme: optional(first(requestHeaders, ':scheme')),
        method: optional(first(requestHeaders, ':method')),
        headers: asMap(requestHeaders),
        referer: optional(first(requestHeaders, 'referer')),
        useragent: optional(first(requestHeaders, 'user-agent')),
        id: optional(first(requestHeaders, 'x-request-id')),
        protocol: str(info.protocol ?? 'HTTP/1.1'),
        time: { kind: 'timestamp', nanos: BigInt(stream.startTime.getTime()) * 1_000_000n },
      });
    }
    case 'response': {
      const local = stream.localResponse;
      const headers = stream.responseHeaders;
      const status = first(headers, ':status') ?? (local ? String(local.status) : undefined);
      if (status === undefined) return undefined;
      return map({
        code: int(Number(status)),
        code_details: str(local?.details ?? 'via_upstream'),
        flags: uint(0),
        headers: asMap(headers),
        trailers: asMap(stream.responseTrailers),
      });
    }
    case 'source':
    case 'destination': {
      const address = name === 'source' ? info.sourceAddress : info.destinationAddress;
      const port = name === 'source' ? info.sourcePort : info.destinationPort;
      if (address === undefined) return undefined;
      return map({
        address: str(port === undefined ? address : `${address}:${port}`),
        port: port === undefined ? undefined : int(port),
      });
    }
    case 'connection':
      return map({
        id: uint(info.connectionId ?? stream.contextId),
        mtls: bool(false),
        requested_server_name: str(''),
      });
  }
  const state = stream.filterState.get(name);
  return state === undefined ? undefined : { kind: 'bytes', value: state };
}
