import { ValidateBy } from 'class-validator';

/**
 * A mapping of names to lists of names (`{"github": ["create_issue"]}`): tool permissions of a grant, allowed
 * arguments per tool. Each listed name is 1 to 256 characters; `message` says what was expected.
 */
export function IsNameListMap(message: string) {
  return ValidateBy({
    name: 'isNameListMap',
    validator: {
      validate: (value: unknown) =>
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.values(value).every(
          (list) =>
            Array.isArray(list) &&
            list.every((item) => typeof item === 'string' && item.length > 0 && item.length <= 256),
        ),
      defaultMessage: () => message,
    },
  });
}
