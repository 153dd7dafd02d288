//! `oxv-rustcheck`: Rust std on oxv. Spawns and joins threads, shares
//! counters behind `Mutex`, hands work over with `Condvar`, sends through
//! `mpsc` channels (several producers, a rendezvous `sync_channel(0)`),
//! sleeps, and uses thread-locals and scoped threads. Each check prints
//! `<name>: ok`; the last line is `rust: ok`. A failed check panics (exit
//! code 134 with `panic = "abort"`).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

fn threads() {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..8u64)
        .map(|id| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..1000 {
                    *counter.lock().unwrap() += 1;
                }
                id * 10
            })
        })
        .collect();
    let ids: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(ids, 280);
    assert_eq!(*counter.lock().unwrap(), 8000);

    // Named threads with a small stack, and thread-locals.
    thread_local!(static LOCAL: Cell<u32> = const { Cell::new(0) });
    let h = thread::Builder::new()
        .name("worker-7".into())
        .stack_size(64 * 1024)
        .spawn(|| {
            LOCAL.with(|l| l.set(7));
            (
                thread::current().name().map(str::to_owned),
                LOCAL.with(Cell::get),
            )
        })
        .unwrap();
    assert_eq!(h.join().unwrap(), (Some("worker-7".to_owned()), 7));
    assert_eq!(LOCAL.with(Cell::get), 0);

    // Scoped threads borrowing from the stack.
    let data: Vec<u64> = (1..=1000).collect();
    let total = AtomicUsize::new(0);
    thread::scope(|s| {
        for chunk in data.chunks(100) {
            let total = &total;
            s.spawn(move || {
                total.fetch_add(chunk.iter().sum::<u64>() as usize, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(total.load(Ordering::SeqCst), 500_500);

    // is_finished turns true once the thread has returned.
    let h = thread::spawn(|| thread::sleep(Duration::from_millis(5)));
    while !h.is_finished() {
        thread::sleep(Duration::from_millis(1));
    }
    h.join().unwrap();
    println!("threads: ok");
}

fn condvar() {
    // A bounded queue with two condition variables.
    struct Queue {
        items: Mutex<VecDeque<u32>>,
        not_empty: Condvar,
        not_full: Condvar,
    }
    let q = Arc::new(Queue {
        items: Mutex::new(VecDeque::new()),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
    });
    let producer = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            for i in 1..=2000u32 {
                let mut items = q.items.lock().unwrap();
                while items.len() == 4 {
                    items = q.not_full.wait(items).unwrap();
                }
                items.push_back(i);
                q.not_empty.notify_one();
            }
        })
    };
    let mut sum = 0u64;
    for _ in 0..2000 {
        let mut items = q.items.lock().unwrap();
        while items.is_empty() {
            items = q.not_empty.wait(items).unwrap();
        }
        sum += u64::from(items.pop_front().unwrap());
        q.not_full.notify_one();
    }
    producer.join().unwrap();
    assert_eq!(sum, 2000 * 2001 / 2);

    // wait_timeout times out when nobody notifies.
    let pair = (Mutex::new(false), Condvar::new());
    let start = Instant::now();
    let (guard, res) = pair
        .1
        .wait_timeout(pair.0.lock().unwrap(), Duration::from_millis(30))
        .unwrap();
    assert!(res.timed_out() && !*guard);
    assert!(start.elapsed() >= Duration::from_millis(30));
    drop(guard);

    // notify_all releases every waiter.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let gate = Arc::clone(&gate);
            thread::spawn(move || {
                let mut open = gate.0.lock().unwrap();
                while !*open {
                    open = gate.1.wait(open).unwrap();
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(10));
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    for w in waiters {
        w.join().unwrap();
    }

    let rw = Arc::new(RwLock::new(0));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let rw = Arc::clone(&rw);
            thread::spawn(move || (0..500).map(|_| *rw.read().unwrap()).max().unwrap())
        })
        .collect();
    for _ in 0..100 {
        *rw.write().unwrap() += 1;
    }
    for r in readers {
        assert!(r.join().unwrap() <= 100);
    }
    println!("condvar: ok");
}

fn channels() {
    // Several producers into one receiver.
    let (tx, rx) = mpsc::channel();
    for p in 0..4u64 {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 0..500 {
                tx.send(p * 1000 + i).unwrap();
            }
        });
    }
    drop(tx);
    let got: Vec<u64> = rx.iter().collect();
    assert_eq!(got.len(), 2000);
    assert_eq!(
        got.iter().sum::<u64>(),
        (0..4).map(|p| p * 1000 * 500 + 499 * 500 / 2).sum()
    );
    // Per-producer order is kept.
    for p in 0..4 {
        let mine: Vec<u64> = got.iter().copied().filter(|v| v / 1000 == p).collect();
        assert!(mine.windows(2).all(|w| w[0] < w[1]));
    }

    // Rendezvous channel: ping-pong 200 times.
    let (ping_tx, ping_rx) = mpsc::sync_channel::<u32>(0);
    let (pong_tx, pong_rx) = mpsc::sync_channel::<u32>(0);
    let echo = thread::spawn(move || {
        for v in ping_rx {
            pong_tx.send(v + 1).unwrap();
        }
    });
    for i in 0..200 {
        ping_tx.send(i).unwrap();
        assert_eq!(pong_rx.recv().unwrap(), i + 1);
    }
    drop(ping_tx);
    echo.join().unwrap();

    // recv_timeout on an empty channel.
    let (_keep, rx) = mpsc::channel::<()>();
    let start = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(20)),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
    println!("channels: ok");
}

fn sleep() {
    let start = Instant::now();
    thread::sleep(Duration::from_millis(20));
    let d = start.elapsed();
    assert!(
        d >= Duration::from_millis(20) && d < Duration::from_secs(10),
        "{d:?}"
    );
    assert!(thread::available_parallelism().is_ok_and(|n| n.get() >= 1));
    println!("sleep: ok");
}

fn main() {
    threads();
    condvar();
    channels();
    sleep();
    println!("rust: ok");
}
