/**
 * Fastify's own schema compilers (Ajv for requests, fast-json-stringify for responses),
 * wrapped for two performance reasons (docs/performance.md). Validation and serialisation results
 * are the same as with the defaults.
 *
 * 1. Lazy compilation. Fastify normally compiles every route's schemas before it listens,
 *    which was most of the register's start-up time (~0.5–0.9 s for ~60 routes). Here each
 *    schema compiles on its first use; `warmUp()` compiles the rest in the background,
 *    one per event-loop turn, once the register is listening. A schema that cannot be
 *    compiled still fails loudly: on its first request and in the warm-up log.
 *
 * 2. Nullable unions. TypeBox writes `Nullable(X)` as `anyOf: [X, {type: 'null'}]`.
 *    fast-json-stringify serialises an `anyOf` by running Ajv against each branch for every
 *    value, which made serialisation of a record (≈15 nullable fields) cost more than
 *    reading it from SQLite. For response schemas only, `{anyOf: [X, {type: 'null'}]}` is
 *    rewritten to X plus `nullable: true`, which fast-json-stringify handles with a plain
 *    `=== null` check. Request validation is untouched (Ajv still sees the anyOf).
 *
 * Two request rules are also applied here, once for every route:
 *
 * 3. No type coercion for bodies. A JSON body carries its own types: `"30"` is not the
 *    integer 30, `"true"` is not true, and `""` is not null (an empty expiry must not become
 *    a permanent consent). Query strings, path parameters and headers are text and are
 *    still coerced.
 *
 * 4. Strict numbers in query strings and path parameters. Ajv's coercion turns any text
 *    JavaScript reads as a number into one ("Infinity", "1e309", "0x10", " 5"), and then
 *    skips minimum/maximum for a non-finite number, which reached SQLite as a datatype
 *    mismatch (a 500). An integer parameter must be written as decimal digits with an
 *    optional minus sign; a number parameter as a finite decimal.
 */
import ajvCompiler from '@fastify/ajv-compiler';
import fastJsonStringifyCompiler from '@fastify/fast-json-stringify-compiler';

type Compile = (routeSchema: { schema: unknown; method?: string; url?: string; httpPart?: string; httpStatus?: string }) => unknown;
type Builder = (externalSchemas: unknown, options: unknown) => Compile;

// Fastify's own default compilers (the same packages and versions it depends on). Imported
// statically so a bundle holds one copy of Ajv and fast-json-stringify, not a second one
// loaded at run time (start-up and memory, docs/performance.md).
//
// The validator pool caches one Ajv per set of Ajv options, but not per plugin options, so
// registers whose Ajv plugins behave differently (the value keywords depend on the mode:
// lib/values.ts) each get their own pool, keyed by `validatorPool`.
const validatorBuilders = new Map<string, Builder>();
const validatorBuilder = (pool: string): Builder => {
  let b = validatorBuilders.get(pool);
  if (!b) validatorBuilders.set(pool, (b = (ajvCompiler as unknown as () => Builder)()));
  return b;
};
const defaultSerializerBuilder = (fastJsonStringifyCompiler as unknown as () => Builder)();

const isNullSchema = (s: unknown) => !!s && typeof s === 'object' && Object.keys(s).length === 1 && (s as { type?: unknown }).type === 'null';

/** Deep copy of a response schema with `anyOf: [X, null]` turned into `X` + `nullable: true`. */
export function nullableUnions(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nullableUnions);
  if (!schema || typeof schema !== 'object') return schema;
  const src = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    // Keywords whose values are maps of sub-schemas or sub-schemas themselves; everything else is data.
    if (k === 'properties' || k === 'patternProperties' || k === '$defs' || k === 'definitions') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, nullableUnions(pv)]));
    } else if (k === 'items' || k === 'additionalProperties' || k === 'anyOf' || k === 'oneOf' || k === 'allOf' || k === 'not') {
      out[k] = nullableUnions(v);
    } else {
      out[k] = v;
    }
  }
  const anyOf = out.anyOf as unknown[] | undefined;
  if (Array.isArray(anyOf) && anyOf.length === 2 && isNullSchema(anyOf[1])) {
    const x = anyOf[0] as Record<string, unknown>;
    // Only plain schemas: a nested union, $ref or an explicit type list keeps the generic path.
    if (x && typeof x === 'object' && !('anyOf' in x) && !('oneOf' in x) && !('$ref' in x) && !Array.isArray(x.type) && !('const' in x)) {
      const { anyOf: _drop, ...siblings } = out;
      return { ...x, ...siblings, nullable: true };
    }
  }
  return out;
}

/** A validator that compiles on first call; Fastify reads `.errors` after each call. */
type AjvError = { instancePath: string; schemaPath: string; keyword: string; params: Record<string, unknown>; message: string };

// "-0" is refused too: a parameter with minimum 0 (offset) would otherwise read it as 0.
const INTEGER_TEXT = /^(0|-?[1-9][0-9]{0,15})$/;
const NUMBER_TEXT = /^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,15})?$/;

/**
 * The top-level numeric properties of a query-string or path-parameter schema (these schemas
 * are flat objects), with the pattern their text must match. Empty for any other schema.
 */
function numericProperties(schema: unknown): [string, 'integer' | 'number'][] {
  const props = (schema as { properties?: Record<string, { type?: unknown }> } | null)?.properties;
  if (!props) return [];
  return Object.entries(props).flatMap(([name, p]) => (p && (p.type === 'integer' || p.type === 'number') ? [[name, p.type] as [string, 'integer' | 'number']] : []));
}

/** Refuses numeric query/path text that is not plain decimal (see 4 above), before Ajv coerces it. */
function strictNumbers(numeric: [string, 'integer' | 'number'][], validate: ((data: unknown) => unknown) & { errors?: unknown }) {
  const checked = function (this: unknown, data: unknown) {
    const errors: AjvError[] = [];
    if (data && typeof data === 'object') {
      for (const [name, type] of numeric) {
        const raw = (data as Record<string, unknown>)[name];
        for (const v of Array.isArray(raw) ? raw : [raw]) {
          if (v === undefined) continue;
          const ok = typeof v === 'string' ? (type === 'integer' ? INTEGER_TEXT : NUMBER_TEXT).test(v) && Number.isFinite(Number(v)) : typeof v !== 'number' || Number.isFinite(v);
          if (!ok) errors.push({ instancePath: `/${name}`, schemaPath: `#/properties/${name}/type`, keyword: 'type', params: { type }, message: type === 'integer' ? 'must be integer' : 'must be number' });
        }
      }
    }
    if (errors.length) {
      checked.errors = errors;
      return false;
    }
    const ok = validate.call(this, data);
    checked.errors = validate.errors;
    return ok;
  } as ((data: unknown) => unknown) & { errors?: unknown };
  return checked;
}

function lazyValidator(build: () => unknown, pending: Set<() => void>) {
  let fn: (((data: unknown) => unknown) & { errors?: unknown }) | undefined;
  const compile = () => {
    pending.delete(compile);
    fn ??= build() as typeof fn;
  };
  pending.add(compile);
  const validate = function (this: unknown, data: unknown) {
    if (!fn) compile();
    const ok = fn!.call(this, data);
    validate.errors = fn!.errors;
    return ok;
  } as ((data: unknown) => unknown) & { errors?: unknown };
  return validate;
}

function lazySerializer(build: () => unknown, pending: Set<() => void>) {
  let fn: ((data: unknown) => string) | undefined;
  const compile = () => {
    pending.delete(compile);
    fn ??= build() as typeof fn;
  };
  pending.add(compile);
  return (data: unknown) => {
    if (!fn) compile();
    return fn!(data);
  };
}

export interface LazyCompilers {
  /** Pass as Fastify's `schemaController` option. */
  schemaController: { compilersFactory: { buildValidator: Builder; buildSerializer: Builder } };
  /** Compiles every schema not compiled yet, one per event-loop turn. Resolves when done. */
  warmUp(onError: (err: unknown) => void): Promise<void>;
}

export function lazyCompilers(validatorPool = 'default'): LazyCompilers {
  const pending = new Set<() => void>();
  return {
    schemaController: {
      compilersFactory: {
        buildValidator(externalSchemas, options) {
          const compile = validatorBuilder(validatorPool)(externalSchemas, options);
          // Bodies: the same Ajv options and plugins, without type coercion (see 3 above).
          const opts = options as { customOptions?: Record<string, unknown> };
          const compileBody = validatorBuilder(`${validatorPool}:body`)(externalSchemas, { ...opts, customOptions: { ...opts.customOptions, coerceTypes: false } });
          return (routeSchema) => {
            if (routeSchema.httpPart === 'body') return lazyValidator(() => compileBody(routeSchema), pending);
            const validate = lazyValidator(() => compile(routeSchema), pending);
            const numeric = routeSchema.httpPart === 'querystring' || routeSchema.httpPart === 'params' ? numericProperties(routeSchema.schema) : [];
            return numeric.length ? strictNumbers(numeric, validate) : validate;
          };
        },
        buildSerializer(externalSchemas, options) {
          const compile = defaultSerializerBuilder(externalSchemas, options);
          return (routeSchema) => lazySerializer(() => compile({ ...routeSchema, schema: nullableUnions(routeSchema.schema) }), pending);
        },
      },
    },
    async warmUp(onError) {
      while (pending.size > 0) {
        await new Promise((r) => setImmediate(r));
        const next = pending.values().next().value;
        if (!next) break;
        try {
          next();
        } catch (err) {
          pending.delete(next);
          onError(err);
        }
      }
    },
  };
}
