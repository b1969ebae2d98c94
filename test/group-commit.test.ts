import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit, syncFile, type SyncFile } from '../src/server/db/group-commit.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';
import { tempDir, walDatabase } from './support/temp-files.js';

/** A sync function the test releases by hand, recording what it was asked to flush. */
function gatedSync() {
  const calls: { path: string; directory: boolean; release: () => void; fail: (e: Error) => void }[] = [];
  /** Every sync ever asked for, in order (`calls` only holds the unreleased ones). */
  const log: string[] = [];
  const sync: SyncFile = (path, directory = false) =>
    new Promise((resolve, reject) => {
      log.push(`${directory ? 'dir' : 'file'} ${path}`);
      calls.push({ path, directory, release: resolve, fail: reject });
    });
  const fileCalls = () => calls.filter((c) => !c.directory);
  /** Releases every call made so far (a directory sync follows the first file sync). */
  const releaseAll = async () => {
    for (let i = 0; i < 5; i++) {
      for (const c of calls.splice(0)) c.release();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { sync, calls, log, fileCalls, releaseAll };
}

const tick = () => new Promise((r) => setImmediate(r));
function fileDb() {
  const { sqlite, file, dir } = walDatabase('dar-gc-', 'create table t (x integer)');
  return { sqlite, wal: `${file}-wal`, dir };
}

describe('group commit', () => {
  it('runs the connection with synchronous = NORMAL and syncs nothing when nothing changed', async () => {
    const { sqlite, wal } = fileDb();
    const g = gatedSync();
    const gc = new GroupCommit(sqlite, wal, g.sync);
    expect(sqlite.pragma('synchronous', { simple: true })).toBe(1);
    expect(gc.pending).toBe(false);
    await gc.durable();
    expect(g.calls).toHaveLength(0);
  });

  it('resolves only after the WAL (and once, its directory) is synced', async () => {
    const { sqlite, wal, dir } = fileDb();
    const g = gatedSync();
    const gc = new GroupCommit(sqlite, wal, g.sync);
    sqlite.prepare('insert into t values (1)').run();
    expect(gc.pending).toBe(true);
    let done = false;
    const p = gc.durable().then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    expect(g.calls.map((c) => c.path)).toEqual([wal]);
    await g.releaseAll();
    await p;
    expect(done).toBe(true);
    expect(gc.pending).toBe(false);
    sqlite.prepare('insert into t values (2)').run();
    const q = gc.durable();
    await tick();
    expect(g.calls.map((c) => c.path)).toEqual([wal]);
    await g.releaseAll();
    await q;
    expect(gc.stats.syncs).toBe(2);
    // The directory was synced once, right after the first WAL sync.
    expect(g.log).toEqual([`file ${wal}`, `dir ${dir}`, `file ${wal}`]);
  });

  it('covers many commits with one sync, and makes a commit made during a sync wait for the next', async () => {
    const { sqlite, wal } = fileDb();
    const g = gatedSync();
    const gc = new GroupCommit(sqlite, wal, g.sync);
    const insert = sqlite.prepare('insert into t values (?)');
    const order: string[] = [];
    // Five requests commit in one turn of the event loop, then all wait.
    for (let i = 0; i < 5; i++) insert.run(i);
    for (let i = 0; i < 5; i++) void gc.durable().then(() => order.push(`first-${i}`));
    await tick();
    expect(g.fileCalls()).toHaveLength(1); // five commits, one fsync
    insert.run(99); // committed while that fsync runs: not covered by it
    let lateDone = false;
    const late = gc.durable().then(() => (lateDone = true));
    // Release only the first sync (and its directory sync).
    g.calls.shift()!.release();
    for (let i = 0; i < 3; i++) {
      await tick();
      for (const c of g.calls.filter((c) => c.directory)) {
        g.calls.splice(g.calls.indexOf(c), 1);
        c.release();
      }
    }
    expect(order).toHaveLength(5);
    expect(lateDone).toBe(false);
    expect(g.fileCalls()).toHaveLength(1); // the second round has started
    await g.releaseAll();
    await late;
    expect(gc.stats.syncs).toBe(2);
  });

  it('rejects the waiters of a failed sync and retries on the next call', async () => {
    const { sqlite, wal } = fileDb();
    const g = gatedSync();
    const gc = new GroupCommit(sqlite, wal, g.sync);
    sqlite.prepare('insert into t values (1)').run();
    const p = gc.durable();
    await tick();
    g.calls.shift()!.fail(new Error('EIO'));
    await expect(p).rejects.toThrow(/could not make the commit durable: EIO/);
    expect(gc.pending).toBe(true);
    const q = gc.durable();
    await g.releaseAll();
    await q;
    expect(gc.pending).toBe(false);
  });

  it('really fdatasyncs a WAL file and fsyncs a directory', async () => {
    const { sqlite, wal, dir } = fileDb();
    sqlite.prepare('insert into t values (1)').run();
    await syncFile(wal);
    await syncFile(dir, true);
    const gc = new GroupCommit(sqlite, wal);
    sqlite.prepare('insert into t values (2)').run();
    await gc.durable();
    expect(gc.pending).toBe(false);
    expect(gc.stats.syncs).toBe(1);
  });

  it('keeps the WAL file open between syncs and closes it with the connection (one fdatasync per sync)', async () => {
    // Which files the process holds open (Linux: /proc/self/fd); elsewhere the check is skipped.
    const held = (path: string) => {
      if (!existsSync('/proc/self/fd')) return null;
      return readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === path;
        } catch {
          return false;
        }
      }).length;
    };
    const { sqlite, wal } = fileDb();
    const before = held(wal); // better-sqlite3's own descriptor of the WAL
    const gc = new GroupCommit(sqlite, wal);
    for (let i = 0; i < 3; i++) {
      await gc.tx(() => sqlite.prepare('insert into t values (?)').run(i));
      await gc.durable();
    }
    expect(gc.stats.syncs).toBe(3);
    // Opened once for the first sync and kept: one more descriptor of the WAL, not none.
    if (before !== null) expect(held(wal)).toBe(before + 1);
    gc.close();
    if (before !== null) expect(held(wal)).toBe(before);
    // A write after close is still made durable (the file is opened for that sync alone).
    sqlite.prepare('insert into t values (9)').run();
    await gc.durable();
    expect(gc.pending).toBe(false);
    if (before !== null) expect(held(wal)).toBe(before);
  });

  it('syncs nothing for an in-memory database, but still batches', async () => {
    const sqlite = new Database(':memory:');
    sqlite.exec('create table t (x integer)');
    const g = gatedSync();
    const gc = new GroupCommit(sqlite, null, g.sync);
    await gc.tx(() => sqlite.prepare('insert into t values (1)').run());
    expect(gc.pending).toBe(true);
    await gc.durable();
    expect(gc.pending).toBe(false);
    expect(sqlite.inTransaction).toBe(false);
    expect(g.calls).toHaveLength(0);
  });

  it('commits the units of one turn of the event loop together; a failing unit rolls back alone', async () => {
    const { sqlite, wal } = fileDb();
    const gc = new GroupCommit(sqlite, wal);
    const insert = sqlite.prepare('insert into t values (?)');
    const count = () => (sqlite.prepare('select count(*) n from t').get() as { n: number }).n;
    const outcomes = await Promise.allSettled([
      gc.tx(() => insert.run(1)),
      gc.tx(() => {
        insert.run(2);
        throw new Error('validation failed half-way');
      }),
      gc.tx(() => insert.run(3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toContain('half-way');
    expect(sqlite.inTransaction).toBe(true); // still open: one batch
    // Another connection sees nothing until the batch commits at the end of the turn.
    const other = new Database(sqlite.name, { readonly: true });
    expect((other.prepare('select count(*) n from t').get() as { n: number }).n).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(sqlite.inTransaction).toBe(false);
    expect(gc.stats.commits).toBe(1);
    expect(count()).toBe(2);
    expect(other.prepare('select x from t order by x').pluck().all()).toEqual([1, 3]);
    other.close();
    await gc.durable();
    expect(gc.pending).toBe(false);
  });

  it('holds the batch open while an fsync runs, and commits the writes of those turns once when it ends', async () => {
    const { sqlite, wal } = fileDb();
    const g = gatedSync();
    const gc = new GroupCommit(sqlite, wal, g.sync);
    const insert = sqlite.prepare('insert into t values (?)');
    await gc.tx(() => insert.run(1));
    const first = gc.durable();
    await tick();
    expect(gc.stats.commits).toBe(1);
    expect(g.fileCalls()).toHaveLength(1); // the first fsync is running
    // Three more turns of writes while it runs: one batch, not yet committed.
    const later: Promise<void>[] = [];
    for (let i = 2; i <= 4; i++) {
      await gc.tx(() => insert.run(i));
      later.push(gc.durable());
      await tick();
    }
    expect(sqlite.inTransaction).toBe(true);
    expect(gc.stats.commits).toBe(1);
    await g.releaseAll();
    await first;
    await Promise.all(later);
    expect(gc.stats.commits).toBe(2); // the three turns' writes committed together
    expect(gc.stats.syncs).toBe(2);
    expect(sqlite.inTransaction).toBe(false);
    expect(sqlite.prepare('select count(*) from t').pluck().get()).toBe(4);
  });

  it("commits a held batch nobody waits on when the fsync ends (a background job's writes)", async () => {
    const { sqlite, wal } = fileDb();
    const g = gatedSync();
    const gc = new GroupCommit(sqlite, wal, g.sync);
    await gc.tx(() => sqlite.prepare('insert into t values (1)').run());
    const first = gc.durable();
    await tick();
    await gc.tx(() => sqlite.prepare('insert into t values (2)').run()); // no durable() call for this one
    await tick();
    expect(sqlite.inTransaction).toBe(true);
    await g.releaseAll();
    await first;
    expect(sqlite.inTransaction).toBe(false);
    const other = new Database(sqlite.name, { readonly: true });
    expect(other.prepare('select count(*) from t').pluck().get()).toBe(2);
    other.close();
    expect(gc.pending).toBe(true); // committed, not yet synced: the next durable() syncs it
    await Promise.all([gc.durable(), g.releaseAll()]);
    expect(gc.pending).toBe(false);
  });

  it('fails the waiters of a batch that cannot commit, and carries on', async () => {
    const { sqlite, wal } = fileDb();
    sqlite.exec('create table p (id integer primary key); create table c (p integer references p(id) deferrable initially deferred)');
    sqlite.pragma('foreign_keys = ON');
    const gc = new GroupCommit(sqlite, wal);
    // A deferred foreign key is only checked at COMMIT: the whole batch fails there.
    await gc.tx(() => sqlite.prepare('insert into c values (42)').run());
    const lost = gc.durable();
    await expect(lost).rejects.toThrow(/could not commit/);
    expect(sqlite.inTransaction).toBe(false);
    expect(sqlite.prepare('select count(*) from c').pluck().get()).toBe(0);
    await gc.tx(() => sqlite.prepare('insert into t values (7)').run());
    await gc.durable();
    expect(sqlite.prepare('select count(*) from t').pluck().get()).toBe(1);
  });
});

describe('group commit: asynchronous units', () => {
  /** The rows of t, read by another connection (what is committed). */
  const committed = (file: string) => {
    const other = new Database(file, { readonly: true });
    try {
      return other.prepare('select x from t order by x').pluck().all();
    } finally {
      other.close();
    }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('runs two concurrent units one after the other; the second keeps its rows when the first, paused on a timer, throws', async () => {
    const { sqlite, wal } = fileDb();
    const gc = new GroupCommit(sqlite, wal);
    const insert = sqlite.prepare('insert into t values (?)');
    const order: string[] = [];
    const first = gc.tx(async () => {
      insert.run(1);
      order.push('first: wrote 1');
      await sleep(20); // across macrotasks: the end of the turn comes and goes meanwhile
      order.push('first: throws');
      throw new Error('first unit failed');
    });
    const second = gc.tx(async () => {
      order.push('second: runs');
      insert.run(2);
      await sleep(1);
      insert.run(3);
    });
    await sleep(5);
    expect(order).toEqual(['first: wrote 1']); // the second waits for the first to end
    await expect(first).rejects.toThrow('first unit failed');
    await second;
    expect(order).toEqual(['first: wrote 1', 'first: throws', 'second: runs']);
    // The first unit's rollback took only its own row.
    expect(sqlite.prepare('select x from t order by x').pluck().all()).toEqual([2, 3]);
    await gc.durable();
    expect(sqlite.inTransaction).toBe(false);
    expect(committed(sqlite.name)).toEqual([2, 3]);
  });

  it('nests a unit started inside a unit: a caught inner failure rolls back the inner writes only', async () => {
    const { sqlite, wal } = fileDb();
    const gc = new GroupCommit(sqlite, wal);
    const insert = sqlite.prepare('insert into t values (?)');
    await gc.tx(async () => {
      insert.run(1);
      // After an await (across a macrotask) the inner unit is still this unit's: it nests,
      // it does not queue behind it (which would never end).
      await sleep(2);
      await expect(
        gc.tx(async () => {
          insert.run(2);
          await sleep(1);
          throw new Error('inner failed');
        }),
      ).rejects.toThrow('inner failed');
      expect(await gc.tx(() => insert.run(3).changes)).toBe(1); // a nested unit that succeeds
      insert.run(4);
    });
    await gc.durable();
    expect(committed(sqlite.name)).toEqual([1, 3, 4]);

    // The outer unit failing takes its nested units' writes with it.
    await expect(
      gc.tx(async () => {
        await gc.tx(() => insert.run(5));
        throw new Error('outer failed');
      }),
    ).rejects.toThrow('outer failed');
    await gc.durable();
    expect(committed(sqlite.name)).toEqual([1, 3, 4]);
  });

  it('runs work scheduled from inside a unit (a timer, setImmediate) as units of their own once that unit has ended', async () => {
    const { sqlite, wal } = fileDb();
    const gc = new GroupCommit(sqlite, wal);
    const insert = sqlite.prepare('insert into t values (?)');
    const later: Promise<string>[] = [];
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'done',
        (err: Error) => `failed: ${err.message}`,
      );
    await gc.tx(async () => {
      insert.run(1);
      // As a worker's kick or a notification does: the callbacks inherit this unit's async context.
      setImmediate(() =>
        later.push(
          outcome(
            gc.tx(async () => {
              insert.run(2);
              await sleep(5);
              throw new Error('scheduled unit failed');
            }),
          ),
        ),
      );
      setTimeout(() => later.push(outcome(gc.tx(() => insert.run(3)))), 1);
    });
    await sleep(20);
    expect(await Promise.all(later)).toEqual(['failed: scheduled unit failed', 'done']);
    // Each ran alone: the failing one rolled back its own row, not the other's.
    await gc.durable();
    expect(sqlite.inTransaction).toBe(false);
    expect(committed(sqlite.name)).toEqual([1, 3]);
  });

  it('tells units apart the same way in every batch (the async marker is off between batches and on again for the next unit)', async () => {
    const { sqlite, wal } = fileDb();
    const gc = new GroupCommit(sqlite, wal);
    const insert = sqlite.prepare('insert into t values (?)');
    const order: string[] = [];
    for (let round = 0; round < 3; round++) {
      let scheduled: Promise<unknown> = Promise.resolve();
      let open = () => {};
      const gate = new Promise<void>((resolve) => (open = resolve));
      await gc.tx(async () => {
        insert.run(round * 10 + 1);
        // Work this unit schedules, run after its batch has committed, while the next unit
        // below is paused: it must queue behind that unit, not join it.
        void gate.then(() => {
          scheduled = gc.tx(() => {
            order.push(`scheduled ${round}`);
            insert.run(round * 10 + 2);
          });
        });
      });
      await gc.durable();
      expect(sqlite.inTransaction).toBe(false);
      await gc.tx(async () => {
        order.push(`paused ${round}`);
        open();
        await sleep(5);
        // Still this unit's own: it nests, and its caught failure rolls back its row only.
        await expect(
          gc.tx(() => {
            insert.run(round * 10 + 3);
            throw new Error('inner failed');
          }),
        ).rejects.toThrow('inner failed');
        order.push(`resumed ${round}`);
      });
      await scheduled;
      await gc.durable();
    }
    expect(order).toEqual(['paused 0', 'resumed 0', 'scheduled 0', 'paused 1', 'resumed 1', 'scheduled 1', 'paused 2', 'resumed 2', 'scheduled 2']);
    expect(committed(sqlite.name)).toEqual([1, 2, 11, 12, 21, 22]);
  });

  it('afterUnit: runs once the unit has succeeded, never after a rollback, and outside the unit even while another is paused', async () => {
    const { sqlite, wal } = fileDb();
    const gc = new GroupCommit(sqlite, wal);
    const insert = sqlite.prepare('insert into t values (?)');
    const woken: string[] = [];
    let wakeUnit: Promise<unknown> = Promise.resolve();
    await gc.tx(async () => {
      insert.run(1);
      gc.afterUnit(() => {
        woken.push('after commit');
        // A worker woken here claims in a unit of its own: it queues, it does not nest.
        wakeUnit = gc.tx(() => insert.run(2));
      });
      expect(woken).toEqual([]);
    });
    expect(woken).toEqual(['after commit']);
    await expect(
      gc.tx(async () => {
        gc.afterUnit(() => woken.push('never'));
        insert.run(9);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    gc.afterUnit(() => woken.push('outside a unit: at once'));
    await wakeUnit;
    await gc.durable();
    expect(woken).toEqual(['after commit', 'outside a unit: at once']);
    expect(committed(sqlite.name)).toEqual([1, 2]);
  });

  it('does not commit the batch while a unit is between awaits across a macrotask, and commits it when the unit ends', async () => {
    const { sqlite, wal } = fileDb();
    const g = gatedSync();
    const gc = new GroupCommit(sqlite, wal, g.sync);
    const insert = sqlite.prepare('insert into t values (?)');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const unit = gc.tx(async () => {
      insert.run(1);
      await gate;
      insert.run(2);
    });
    let durable = false;
    const waiting = gc.durable().then(() => (durable = true)); // asks for row 1
    for (let i = 0; i < 5; i++) await tick(); // the turn ended and durable() kicked meanwhile
    expect(sqlite.inTransaction).toBe(true);
    expect(gc.stats.commits).toBe(0);
    expect(committed(sqlite.name)).toEqual([]);
    gc.endBatch(); // also when asked directly (before a close or a file-level operation)
    expect(sqlite.inTransaction).toBe(true);
    expect(g.calls).toHaveLength(0); // nothing to sync while the unit is open
    expect(durable).toBe(false);

    release();
    await unit;
    expect(sqlite.inTransaction).toBe(false); // committed as the unit ended
    expect(gc.stats.commits).toBe(1);
    expect(committed(sqlite.name)).toEqual([1, 2]);
    await g.releaseAll();
    await waiting;
    expect(durable).toBe(true);
    expect(gc.stats.syncs).toBe(1);
  });
});

describe('group commit over HTTP', () => {
  let r: TestRegister | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('answers a durable write only after its commit is synced, and batches concurrent writes', async () => {
    const dir = tempDir('dar-gc-http-');
    r = await testRegister({ dataDir: dir });
    const token = await r.token('bright_energy');
    const ir = (await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: '1029384756', 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' })).body.ir;
    // Swap in a gated sync: reg.tx, the hook and the workers use reg.durability on every call.
    await r.reg.durability.durable();
    r.reg.durability.endBatch();
    const g = gatedSync();
    r.reg.durability = new GroupCommit(r.reg.sqlite!, join(dir, 'register.sqlite-wal'), g.sync);

    const post = () => r!.app.inject({ method: 'POST', url: '/v1/access-records', headers: { authorization: `Bearer ${token}` }, payload: consentBody(ir) });
    let answered = 0;
    const first = post().then((res) => (answered++, res));
    for (let i = 0; i < 20 && g.fileCalls().length === 0; i++) await tick();
    expect(g.fileCalls()).toHaveLength(1);
    expect(answered).toBe(0); // committed, but not answered before the fsync
    const more = Array.from({ length: 8 }, () => post().then((res) => (answered++, res)));
    for (let i = 0; i < 20; i++) await tick();
    expect(answered).toBe(0);
    for (let i = 0; i < 50 && answered < 9; i++) await g.releaseAll();
    const all = await Promise.all([first, ...more]);
    expect(all.map((x) => x.statusCode)).toEqual(Array(9).fill(201));
    // Nine commits made durable by far fewer fsyncs.
    expect((r.reg.durability as GroupCommit).stats.syncs).toBeLessThanOrEqual(3);
    expect(r.reg.durability.pending).toBe(false);
  });

  it('does not make a read wait when nothing is pending', async () => {
    const dir = tempDir('dar-gc-http-');
    r = await testRegister({ dataDir: dir });
    await r.reg.durability.durable();
    r.reg.durability.endBatch();
    const g = gatedSync();
    r.reg.durability = new GroupCommit(r.reg.sqlite!, join(dir, 'register.sqlite-wal'), g.sync);
    const res = await r.app.inject({ method: 'GET', url: '/v1/access-records/ak_000000000000000000000000' });
    expect(res.statusCode).toBe(404);
    expect(g.calls).toHaveLength(0);
  });
});
