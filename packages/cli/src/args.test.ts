import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { attrArg, flagOfPath, labelArg, parseLabelMatcher, wholeNumberArg } from './args.ts';

describe('option values', () => {
  it('reads Prometheus label matchers, splitting at the first operator', () => {
    expect(parseLabelMatcher('model_id=llama')).toEqual({
      name: 'model_id',
      operator: '=',
      value: 'llama',
    });
    expect(parseLabelMatcher('model_id!=a=b')).toEqual({
      name: 'model_id',
      operator: '!=',
      value: 'a=b',
    });
    expect(parseLabelMatcher('model_id=~llama-3.*')).toEqual({
      name: 'model_id',
      operator: '=~',
      value: 'llama-3.*',
    });
    expect(parseLabelMatcher('demo.run_id!~x|y')).toEqual({
      name: 'demo.run_id',
      operator: '!~',
      value: 'x|y',
    });
    expect(parseLabelMatcher('empty=')).toEqual({ name: 'empty', operator: '=', value: '' });
    expect(() => parseLabelMatcher('model')).toThrow(/expected name=value/);
    expect(() => parseLabelMatcher('=x')).toThrow(/expected a label name before =/);
    expect(() => parseLabelMatcher('a b=x')).toThrow(/expected a label name/);
    expect(labelArg('b=2', [{ name: 'a', operator: '=', value: '1' }])).toHaveLength(2);
    expect(() => labelArg('nope')).toThrow(InvalidArgumentError);
  });

  it('collects attribute conditions with core’s short form', () => {
    expect(attrArg('tokens>100', attrArg('model=llama'))).toEqual([
      { key: 'model', op: 'eq', value: 'llama' },
      { key: 'tokens', op: 'gt', value: 100 },
    ]);
    expect(() => attrArg('=x')).toThrow(/^Expected key=value \(the key is empty\)\.$/);
  });

  it('whole numbers in range only', () => {
    const port = wholeNumberArg(0, 65_535);
    expect(port('8321')).toBe(8321);
    for (const bad of ['-1', '65536', '1.5', 'x', ''])
      expect(() => port(bad), bad).toThrow(/from 0 to 65535/);
  });

  it('names the option a store parameter came from', () => {
    expect(flagOfPath('min_duration_ms')).toBe('--min-duration');
    expect(flagOfPath('attribute_filters[1].value')).toBe('--attr #2');
    expect(flagOfPath('attr[0]')).toBe('--attr #1');
    expect(flagOfPath('label_matchers[0].value')).toBe('--label #1');
    expect(flagOfPath('start')).toBe('--since');
    expect(flagOfPath('something_else')).toBe('something_else');
  });
});
