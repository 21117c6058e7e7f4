/** Every default of this package, in one place. */
export const META_REFERENCE_DEFAULTS = Object.freeze({
  /** The provider type this package implements. */
  providerType: 'inline::meta-reference',
  /** `provider_id` when a config gives only the `config` block. */
  providerId: 'meta-reference',
  /** Llama Stack's default sinks. */
  sinks: Object.freeze(['console', 'sqlite']) as readonly string[],
});
