import { pino, type Logger } from 'pino';

/** JSON logs on stdout; LOG_LEVEL picks the level (info by default). */
export function createLogger(component: string): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component } });
}
