/**
 * Leased delivery on Redis, invisible to Python Colmena: thinkers still push to `<prefix>_requests`
 * and read `<prefix>_<topic>_result`. A task server takes a request by moving it atomically into a
 * lease record of its own and keeps a heartbeat key alive; the request leaves that record only in
 * the same script that pushes its result. When a server's heartbeat lapses, whichever live server
 * notices first puts that server's requests back at the head of the request list (once: a Lua
 * script does the check and the move together) and notes each redelivery.
 *
 * Keys, besides Python's two:
 * - `<prefix>_leases_<serverId>`: hash of requests taken in batches and not yet answered, by a
 *   sequence number of the server's (oldest lowest). Its result's push ends a lease by that short
 *   number, so a batch of answers does not carry every request back to Redis;
 * - `<prefix>_processing_<serverId>`: list of requests taken by a blocking move (`BLMOVE`, when
 *   the request list was empty) and not yet answered, ended by the element itself;
 * - `<prefix>_heartbeat_<serverId>`: exists while that server is alive (expires after the lease);
 * - `<prefix>_servers`: ids of servers that may hold leases;
 * - `<prefix>_redelivered`: task id → times its request was put back after a server died.
 */
import { invalidArgument } from '../common/errors.js';

export interface LeaseKeys {
  requests: string;
  processing: string;
  leases: string;
  heartbeat: string;
  servers: string;
  redelivered: string;
}

export function leaseKeys(prefix: string, serverId: string): LeaseKeys {
  return {
    requests: `${prefix}_requests`,
    processing: `${prefix}_processing_${serverId}`,
    leases: `${prefix}_leases_${serverId}`,
    heartbeat: `${prefix}_heartbeat_${serverId}`,
    servers: `${prefix}_servers`,
    redelivered: `${prefix}_redelivered`,
  };
}

/** The task id inside a request element, read the way the Lua scripts read it. */
export const TASK_ID_PATTERN_LUA = `'"task_id"%s*:%s*"([^"]+)"'`;

/**
 * Take up to ARGV[1] requests under this server's lease. With no redelivery on record (nearly
 * always) they go into its lease hash, the first under sequence number ARGV[3] and each next one
 * under the next number; otherwise, one by one, each with its history looked up, onto its
 * processing list. Stops after an element with no '{' (the kill signal: what follows it is for
 * other servers). A request redelivered at least QUARANTINE_AFTER
 * times is taken only alone, by a server holding nothing else (ARGV[2] = '1'), and then nothing
 * with it; otherwise it is put back, so a task that kills its servers takes no other task down
 * with it again.
 * Returns how many tasks have a redelivery count at all (so a server can skip looking when none
 * has), then '1' if a quarantined request was left for a server with nothing in hand, else '0',
 * then the redelivery counts of the task ids in ARGV[4..] (requests taken by a blocking move just
 * before; if one is quarantined nothing more is taken), then the elements taken in order, each
 * followed by its redelivery count only when the first value is not 0 (then they are on the
 * processing list, not in the hash).
 * KEYS: requests, processing, leases, redelivered.
 */
export const QUARANTINE_AFTER = 2;
/** Most values spread into one command from Lua (`unpack` is bounded by Lua's C stack, 8000). */
const LUA_UNPACK_CHUNK = 1000;
export const TAKE_SCRIPT = `
local room = tonumber(ARGV[1])
local seq = tonumber(ARGV[3])
local recorded = redis.call('HLEN', KEYS[4])
local out = {tostring(recorded), '0'}
local inHand = #ARGV - 3
for i = 4, #ARGV do
  local count = redis.call('HGET', KEYS[4], ARGV[i]) or '0'
  out[#out + 1] = count
  if tonumber(count) >= ${QUARANTINE_AFTER} then room = 0 end
end
if recorded == 0 and room > 0 then
  -- With no redelivery on record (nearly always), no element's task id is read: the head is read,
  -- cut off and recorded in three commands, up to and with the first element with no '{'.
  local taken = redis.call('LRANGE', KEYS[1], 0, room - 1)
  local n = #taken
  for i = 1, n do
    if not string.find(taken[i], '{', 1, true) then
      n = i
      break
    end
  end
  if n > 0 then
    redis.call('LTRIM', KEYS[1], n, -1)
    local fields = {}
    for i = 1, n do
      fields[#fields + 1] = string.format('%d', seq + i - 1)
      fields[#fields + 1] = taken[i]
      out[#out + 1] = taken[i]
      if #fields >= ${LUA_UNPACK_CHUNK} then
        redis.call('HSET', KEYS[3], unpack(fields))
        fields = {}
      end
    end
    if #fields > 0 then redis.call('HSET', KEYS[3], unpack(fields)) end
  end
  room = 0
end
for i = 1, room do
  local e = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'LEFT')
  if not e then break end
  local id = string.match(e, ${TASK_ID_PATTERN_LUA})
  local count = (id and redis.call('HGET', KEYS[4], id)) or '0'
  if tonumber(count) >= ${QUARANTINE_AFTER} and (inHand > 0 or ARGV[2] ~= '1') then
    redis.call('LMOVE', KEYS[2], KEYS[1], 'LEFT', 'LEFT')
    out[2] = '1'
    break
  end
  inHand = inHand + 1
  out[#out + 1] = e
  out[#out + 1] = count
  if tonumber(count) >= ${QUARANTINE_AFTER} or not string.find(e, '{', 1, true) then break end
end
return out
`;

/**
 * Put back the requests of every registered server whose heartbeat has lapsed (other than
 * ARGV[2]), at the head of the request list, oldest first, and forget those servers. Elements
 * with no '{' (a kill signal the dead server took) are dropped: that server was the one asked to
 * stop. ARGV[1] is the key prefix. Returns the number of requests put back.
 * KEYS: servers, requests, redelivered.
 */
export const RECLAIM_SCRIPT = `
local moved = 0
local function putBack(e)
  if string.find(e, '{', 1, true) then
    redis.call('LPUSH', KEYS[2], e)
    local taskId = string.match(e, ${TASK_ID_PATTERN_LUA})
    if taskId then redis.call('HINCRBY', KEYS[3], taskId, 1) end
    moved = moved + 1
  end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. '_heartbeat_' .. id) == 0 then
    -- Newest first onto the head, so the oldest ends up first in line again.
    local processing = ARGV[1] .. '_processing_' .. id
    while true do
      local e = redis.call('LPOP', processing)
      if not e then break end
      putBack(e)
    end
    local leases = ARGV[1] .. '_leases_' .. id
    local flat = redis.call('HGETALL', leases)
    local held = {}
    for i = 1, #flat, 2 do held[#held + 1] = {tonumber(flat[i]), flat[i + 1]} end
    table.sort(held, function(a, b) return a[1] > b[1] end)
    for _, lease in ipairs(held) do putBack(lease[2]) end
    redis.call('DEL', leases)
    redis.call('SREM', KEYS[1], id)
  end
end
return moved
`;

/**
 * How many registered servers have a live heartbeat. KEYS: servers; ARGV[1]: the key prefix.
 */
export const LIVE_SERVERS_SCRIPT = `
local live = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. '_heartbeat_' .. id) == 1 then live = live + 1 end
end
return live
`;

/**
 * Give back requests taken but never handed to the server (it stopped first): out of their lease
 * and onto the head of the request list, oldest first in line. KEYS: processing, requests,
 * leases; ARGV: (sequence number, or '' for one on the processing list; element) pairs, oldest first.
 */
export const RELEASE_SCRIPT = `
for i = #ARGV - 1, 1, -2 do
  local held
  if ARGV[i] == '' then held = redis.call('LREM', KEYS[1], 1, ARGV[i + 1]) else held = redis.call('HDEL', KEYS[3], ARGV[i]) end
  if held == 1 then redis.call('LPUSH', KEYS[2], ARGV[i + 1]) end
end
return #ARGV / 2
`;

/**
 * Push results and end their leases in one step. ARGV: processing list, lease hash, then triples
 * of (result list, result body, lease): '' for a result that ends no lease, the request element
 * itself (it has a '{') for one on the processing list, else its sequence number in the hash.
 * Results for one list in a row go in one RPUSH (in order), then their leases end.
 */
export const ANSWER_SCRIPT = `
local processing = ARGV[1]
local fields = {}
local i = 3
while i <= #ARGV do
  local key = ARGV[i]
  local bodies = {}
  local j = i
  while j <= #ARGV and ARGV[j] == key and #bodies < ${LUA_UNPACK_CHUNK} do
    bodies[#bodies + 1] = ARGV[j + 1]
    j = j + 3
  end
  redis.call('RPUSH', key, unpack(bodies))
  for k = i, j - 1, 3 do
    local lease = ARGV[k + 2]
    if lease ~= '' then
      -- From the tail, where the oldest requests taken are: tasks mostly end in the order taken.
      if string.find(lease, '{', 1, true) then redis.call('LREM', processing, -1, lease) else fields[#fields + 1] = lease end
    end
  end
  i = j
end
for from = 1, #fields, ${LUA_UNPACK_CHUNK} do redis.call('HDEL', ARGV[2], unpack(fields, from, math.min(from + ${LUA_UNPACK_CHUNK - 1}, #fields))) end
return (#ARGV - 2) / 3
`;

/** Register a server and refresh its heartbeat. KEYS: servers, heartbeat; ARGV: server id, lease ms. */
export const HEARTBEAT_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1
`;

/** Heartbeat and lease timing. */
export interface LeaseOptions {
  /**
   * How long a task server's heartbeat lives without being refreshed. After that its taken requests
   * go back to the request list for other servers. Must exceed the longest pause of the server's
   * event loop (an inline method that computes for longer loses its lease and its task runs twice).
   * @default 3000
   */
  leaseMs?: number;
  /**
   * A request put back more often than this (every server that took it stopped heartbeating) is
   * answered as failed (`worker-crashed`, `TaskServerLost`) instead of being handed out again:
   * the task itself may be what kills its servers.
   * @default 3
   */
  maxRedeliveries?: number;
}

export interface ResolvedLease {
  leaseMs: number;
  /** The heartbeat is refreshed this often: half the lease, so one late beat is survived. */
  heartbeatMs: number;
  /**
   * Lapsed servers are looked for this often: a twentieth of the lease, so a dead server's tasks
   * run again within about one lease of its last heartbeat.
   */
  reclaimMs: number;
  maxRedeliveries: number;
}

export function resolveLease(options: LeaseOptions): ResolvedLease {
  const leaseMs = options.leaseMs ?? 3000;
  if (!(Number.isSafeInteger(leaseMs) && leaseMs >= 100)) {
    throw invalidArgument('RedisQueues', 'leaseMs', 'a whole number of milliseconds, at least 100', leaseMs);
  }
  const maxRedeliveries = options.maxRedeliveries ?? 3;
  if (!(Number.isSafeInteger(maxRedeliveries) && maxRedeliveries >= 0)) {
    throw invalidArgument('RedisQueues', 'maxRedeliveries', 'a whole number, at least 0', options.maxRedeliveries);
  }
  return { leaseMs, heartbeatMs: Math.floor(leaseMs / 2), reclaimMs: Math.floor(leaseMs / 20), maxRedeliveries };
}
