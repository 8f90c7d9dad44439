// Envoy's tag extraction (TagProducerImpl + TagExtractorStdRegexImpl): every extractor runs a regex search on the
// stat's full name; the first capture group is cut out of the name and the second (or the first, if there is no
// second) becomes the tag value. The tag-extracted name — what Prometheus families are named and grouped by — is
// the full name with all cut-out ranges removed. Tags keep the extractors' order.
//
// The default list is Istio's bootstrap `stats_config.stats_tags` (tools/packaging/common/envoy_bootstrap.json,
// `use_all_default_tags: false`). None of them touches `wasmcustom.hfi_faults_*`; they matter for built-in stats
// (cluster/http/listener) and for plugins that encode labels as `<tag>=.=<value>;.;` with extraStatTags.

export interface StatsTag {
  tag_name: string;
  regex: string;
}

export interface Tag {
  readonly name: string;
  readonly value: string;
}

const ISTIO_ADDRESS_CHARS = '((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))';

export function istioStatsTags(extraStatTags: readonly string[] = []): StatsTag[] {
  return [
    { tag_name: 'cluster_name', regex: '^cluster\\.((.+?(\\..+?\\.svc\\.cluster\\.local)?)\\.)' },
    { tag_name: 'tcp_prefix', regex: '^tcp\\.((.*?)\\.)\\w+?$' },
    { tag_name: 'response_code', regex: '_rq(_(\\d{3}))$' },
    { tag_name: 'response_code_class', regex: '_rq(_(\\dxx))$' },
    {
      tag_name: 'http_conn_manager_listener_prefix',
      regex: `^listener(?=\\.).*?\\.http\\.(${ISTIO_ADDRESS_CHARS}\\.)`,
    },
    { tag_name: 'http_conn_manager_prefix', regex: `^http\\.(${ISTIO_ADDRESS_CHARS}\\.)` },
    { tag_name: 'listener_address', regex: `^listener\\.(${ISTIO_ADDRESS_CHARS}\\.)` },
    { tag_name: 'mongo_prefix', regex: '^mongo\\.(.+?)\\.(collection|cmd|cx_|op_|delays_|decoding_)(.*?)$' },
    ...extraStatTags.map((tag) => ({ tag_name: tag, regex: `(${tag}=\\.=(.*?);\\.;)` })),
    { tag_name: 'cache', regex: '(cache\\.(.+?)\\.)' },
    { tag_name: 'component', regex: '(component\\.(.+?)\\.)' },
    { tag_name: 'tag', regex: '(tag\\.(.+?);\\.)' },
    { tag_name: 'wasm_filter', regex: '(wasm_filter\\.(.+?)\\.)' },
    { tag_name: 'authz_enforce_result', regex: 'rbac(\\.(allowed|denied))' },
    { tag_name: 'authz_dry_run_action', regex: '(\\.istio_dry_run_(allow|deny)_)' },
    { tag_name: 'authz_dry_run_result', regex: '(\\.shadow_(allowed|denied))' },
  ];
}

/** std::regex (ECMAScript) → JavaScript: only the POSIX bracket classes differ. */
function stdRegexToJs(source: string): string {
  return source.replace(/\[:digit:\]/g, '0-9').replace(/\[:alpha:\]/g, 'A-Za-z');
}

export class TagExtractor {
  private readonly extractors: { name: string; re: RegExp }[];

  constructor(tags: readonly StatsTag[]) {
    this.extractors = tags.map((t) => ({ name: t.tag_name, re: new RegExp(stdRegexToJs(t.regex), 'd') }));
  }

  extract(fullName: string): { tagExtractedName: string; tags: Tag[] } {
    const tags: Tag[] = [];
    const cuts: [number, number][] = [];
    for (const { name, re } of this.extractors) {
      const match = re.exec(fullName);
      if (match === null || match.length < 2 || match.indices === undefined) continue;
      const remove = match.indices[1];
      if (remove === undefined) continue;
      tags.push({ name, value: match[2] ?? match[1] ?? '' });
      cuts.push(remove);
    }
    if (cuts.length === 0) return { tagExtractedName: fullName, tags };
    cuts.sort((a, b) => a[0] - b[0]);
    let out = '';
    let pos = 0;
    for (const [start, end] of cuts) {
      if (start > pos) out += fullName.slice(pos, start);
      pos = Math.max(pos, end);
    }
    out += fullName.slice(pos);
    return { tagExtractedName: out, tags };
  }
}
