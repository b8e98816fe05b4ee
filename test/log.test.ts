import { Writable } from 'node:stream';
import winston from 'winston';
import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../src/log';

describe('log redaction', () => {
  it('hides passwords in connection URLs and values of secret-looking keys', () => {
    expect(redact('connect postgresql://tandem:s3cr3t@db:5432/erp failed')).toBe('connect postgresql://tandem:***@db:5432/erp failed');
    expect(redact({ url: 'redis://:pw@r:6379', password: 'x', nested: { apiKey: 'k', token: 't', host: 'h' } }))
      .toEqual({ url: 'redis://:pw@r:6379'.replace(':pw@', ':***@'), password: '***', nested: { apiKey: '***', token: '***', host: 'h' } });
  });

  it('never writes a secret to a log line', () => {
    const lines: string[] = [];
    const logger = createLogger('info');
    logger.clear();
    logger.add(new winston.transports.Stream({ stream: new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }) }));
    logger.error('cannot connect to mysql://root:hunter2@crm/db', { connectionString: 'postgresql://a:b@c/d', authorization: 'Bearer abc' });
    const text = lines.join('');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(':b@');
    expect(text).not.toContain('Bearer abc');
    expect(text).toContain('mysql://root:***@crm/db');
  });
});
