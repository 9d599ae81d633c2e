// The package entry: what `import … from 'gatehouse'` gives app authors (types, the runner, the helpers).
export type {
  App,
  Body,
  CgiVariables,
  Chunk,
  Environ,
  FetchHandler,
  GatewayErrors,
  GatewayInput,
  GatewayKeys,
  StartResponse,
  Write,
} from './types.js';
export { AppError, checkResponse, runApp } from './run-app.js';
export type { AppErrorCode, ResponseSink, RunResult } from './run-app.js';
export { BodyInput } from './input.js';
export { fromFetchHandler, requestUrl } from './fetch-adapter.js';
export { AppExportError, appFromModule } from './load-app.js';

export { Form, FormError, readForm } from './forms.js';
export type { FormEntry, FormErrorCode, FormOptions, UploadedFile } from './forms.js';
export { dispatcher, notFoundApp, resolvePath } from './dispatch.js';
export type { Handler, Resolved, Route } from './dispatch.js';
export { compose } from './compose.js';
export type { Middleware } from './compose.js';
export { ValidationError, validationRules, validator } from './validate.js';
export type { ValidationRule } from './validate.js';
