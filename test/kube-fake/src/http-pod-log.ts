/** `GET …/pods/{name}/log` of the fake API server: container choice, previous, since, tail, limitBytes, follow. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiServer } from './api.js';
import type { Kubelet, LogLine } from './kubelet.js';
import { badRequest } from './status.js';
import type { Pod } from './types.js';

/** Streams a container's log (following it until it ends when asked); followers holds the open follow streams. */
export async function servePodLog(
  api: ApiServer,
  kubelet: Kubelet | undefined,
  followers: Set<ServerResponse>,
  req: IncomingMessage,
  res: ServerResponse,
  ns: string,
  name: string,
  q: URLSearchParams,
): Promise<void> {
  const pod = api.get<Pod>('pods', ns, name);
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  let container = q.get('container') ?? '';
  if (!container) {
    if (names.length !== 1)
      throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    container = names[0] ?? '';
  }
  if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  const previous = q.get('previous') === 'true';
  const log = kubelet?.log(ns, name, container, previous);
  if (!log || !kubelet?.containerStarted(pod, container)) {
    if (previous) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    const waiting = pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.waiting;
    throw badRequest(
      `container "${container}" in pod "${name}" is waiting to start: ${waiting?.reason ?? 'ContainerCreating'}`,
    );
  }
  const timestamps = q.get('timestamps') === 'true';
  const sinceSeconds = Number(q.get('sinceSeconds') ?? '0');
  const sinceTime = q.get('sinceTime');
  const since = sinceSeconds > 0 ? Date.now() - sinceSeconds * 1000 : sinceTime ? Date.parse(sinceTime) : undefined;
  let lines = log.lines.filter((l) => since === undefined || Date.parse(l.time) >= since);
  const tail = q.get('tailLines');
  if (tail !== null && /^\d+$/.test(tail)) lines = Number(tail) === 0 ? [] : lines.slice(-Number(tail));
  const limitBytes = Number(q.get('limitBytes') ?? '0');
  let sent = 0;
  const format = (l: LogLine) => (timestamps ? `${l.time} ${l.text}` : l.text);
  const write = (text: string): boolean => {
    if (limitBytes > 0) {
      const room = limitBytes - sent;
      if (room <= 0) return false;
      text = text.slice(0, room);
    }
    sent += Buffer.byteLength(text);
    res.write(text);
    return true;
  };
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  for (const l of lines) if (!write(format(l))) break;
  if (q.get('follow') !== 'true' || log.finished) {
    res.end();
    return;
  }
  res.flushHeaders();
  followers.add(res);
  await new Promise<void>((resolve) => {
    const stop = () => {
      unfollow();
      followers.delete(res);
      if (!res.writableEnded) res.end();
      resolve();
    };
    const unfollow = log.follow((line) => {
      if (line === null || !write(format(line))) stop();
    });
    req.on('close', stop);
    res.on('close', stop);
  });
}
