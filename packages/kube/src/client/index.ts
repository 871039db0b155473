export {
  ApiClient,
  ApiError,
  DEFAULT_CONNECTIONS,
  type ApiClientOptions,
  type RequestOptions,
} from './api-client.js';
export {
  fileTokenSource,
  inClusterCredentials,
  kubeconfigCredentials,
  loadCredentials,
  SERVICE_ACCOUNT_DIR,
  type ApiServerCredentials,
  type TlsSettings,
  type TokenSource,
} from './credentials.js';
export { ExecCredentialPlugin, type ExecConfig } from './exec-credential.js';
export {
  Reflector,
  type Listed,
  type ObjectMeta,
  type ReflectorEvent,
  type ReflectorOptions,
} from './reflector.js';
