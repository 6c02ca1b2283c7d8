import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ValidationFailedError } from '@app/core';

interface FieldProblem {
  field: string;
  problems: string[];
}

function collect(errors: ValidationError[], parent: string, out: FieldProblem[]): FieldProblem[] {
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const problems = Object.values(error.constraints ?? {});
    if (problems.length) out.push({ field, problems });
    if (error.children?.length) collect(error.children, field, out);
  }
  return out;
}

/** Turns class-validator's errors into one 400 that names every bad field and what is wrong with it. */
export function validationErrorFrom(errors: ValidationError[]): ValidationFailedError {
  const fields = collect(errors, '', []);
  const message = fields.length
    ? `invalid request: ${fields.map((f) => `${f.field}: ${f.problems.join(', ')}`).join('; ')}`
    : 'invalid request';
  return new ValidationFailedError(message, fields[0]?.field ?? null, { fields });
}

/** The global pipe: unknown fields are rejected, not silently dropped; payloads become DTO instances. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: validationErrorFrom,
  });
}
