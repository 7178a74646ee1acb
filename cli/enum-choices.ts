// Flag words from the schema's enums (generated/schema-types.ts: a const object per enum). A flag
// takes an enum's value in lower case (`--task signal`, `--status timed_out`); nothing here lists
// an enum's values by hand.

/** A generated enum object, e.g. `ModelTask` = `{ Signal: 'SIGNAL', ... } as const`. */
export type SchemaEnum<Value extends string> = Readonly<Record<string, Value>>;

/** The flag word of one enum value: `TIMED_OUT` -> `timed_out`. */
export function enumChoice<Value extends string>(value: Value): Lowercase<Value> {
  return value.toLowerCase() as Lowercase<Value>;
}

/** Every value of `schemaEnum` in lower case, in generated order (codegen sorts them): the `choices` of a flag. */
export function enumChoices<Value extends string>(schemaEnum: SchemaEnum<Value>): Lowercase<Value>[] {
  return Object.values(schemaEnum).map(enumChoice);
}

/**
 * The enum value a flag word stands for (any case; `-` for `_`), or undefined when it is none
 * of them.
 */
export function enumValue<Value extends string>(schemaEnum: SchemaEnum<Value>, word: string): Value | undefined {
  const wanted = word.trim().toUpperCase().replace(/-/g, '_');
  return Object.values(schemaEnum).find((value) => value === wanted);
}

/** Like enumValue, for a word that `choices` already checked: throws if it is none of them. */
export function toEnum<Value extends string>(schemaEnum: SchemaEnum<Value>, word: string): Value {
  const value = enumValue(schemaEnum, word);
  if (value === undefined) throw new Error(`"${word}" is not one of ${enumChoices(schemaEnum).join(', ')}`);
  return value;
}
