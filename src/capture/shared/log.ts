/** How a source reports what it does (the pipeline's logger, with the system added). */
export type LogLevel = 'info' | 'warn' | 'error' | 'debug';
export type LogFn = (level: LogLevel, message: string, meta?: Record<string, unknown>) => void;
