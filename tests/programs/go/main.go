// Command gocheck exercises the Go runtime on oxv: goroutines spread over
// several OS threads, channels, sync.WaitGroup and Mutex, timers
// (time.Sleep, time.After), the garbage collector, panic/recover (including
// a nil dereference, which the runtime turns into a panic from a SIGSEGV),
// and os/signal delivery of a SIGUSR1 the program sends itself. Each check
// prints "<name>: ok"; the last line is "go: ok". A failed check prints to
// stderr and exits 1.
//
// Built static with CGO_ENABLED=0 go build.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go: check failed: "+format+"\n", args...)
	os.Exit(1)
}

func goroutines() {
	const workers = 64
	const perWorker = 1000
	results := make(chan int, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	shared := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sum := 0
			for i := 0; i < perWorker; i++ {
				sum += w*perWorker + i
				mu.Lock()
				shared++
				mu.Unlock()
				if i%100 == 0 {
					runtime.Gosched()
				}
			}
			results <- sum
		}(w)
	}
	wg.Wait()
	close(results)
	total := 0
	for s := range results {
		total += s
	}
	n := workers * perWorker
	if want := n * (n - 1) / 2; total != want {
		fail("goroutine sum %d, want %d", total, want)
	}
	if shared != n {
		fail("mutex counter %d, want %d", shared, n)
	}

	// An unbuffered pipeline of three stages.
	src := make(chan int)
	sq := make(chan int)
	go func() {
		for i := 1; i <= 100; i++ {
			src <- i
		}
		close(src)
	}()
	go func() {
		for v := range src {
			sq <- v * v
		}
		close(sq)
	}()
	sum := 0
	for v := range sq {
		sum += v
	}
	if sum != 338350 {
		fail("pipeline sum %d", sum)
	}
	fmt.Println("goroutines: ok")
}

func sleeps() {
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	if d := time.Since(start); d < 20*time.Millisecond || d > 10*time.Second {
		fail("time.Sleep(20ms) took %v", d)
	}
	// Many goroutines sleeping at once; the last wakes after its deadline.
	start = time.Now()
	woke := make(chan int, 5)
	for _, ms := range []int{50, 10, 40, 20, 30} {
		go func(ms int) {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			woke <- ms
		}(ms)
	}
	sum := 0
	for i := 0; i < 5; i++ {
		sum += <-woke
	}
	if d := time.Since(start); sum != 150 || d < 50*time.Millisecond {
		fail("sleepers: sum %d after %v", sum, d)
	}
	select {
	case <-time.After(30 * time.Millisecond):
	case <-time.After(10 * time.Second):
		fail("time.After(30ms) did not fire first")
	}
	ticker := time.NewTicker(5 * time.Millisecond)
	for i := 0; i < 3; i++ {
		<-ticker.C
	}
	ticker.Stop()
	fmt.Println("sleep: ok")
}

type node struct {
	next *node
	data [64]byte
}

var sink *node

func gc() {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for round := 0; round < 20; round++ {
		var head *node
		for i := 0; i < 10000; i++ {
			head = &node{next: head}
		}
		sink = head
	}
	sink = nil
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.NumGC < before.NumGC+2 {
		fail("NumGC went from %d to %d", before.NumGC, after.NumGC)
	}
	if after.TotalAlloc-before.TotalAlloc < 20*10000*64 {
		fail("TotalAlloc grew only by %d", after.TotalAlloc-before.TotalAlloc)
	}
	fmt.Println("gc: ok")
}

var errBoom = errors.New("boom")

func recovered(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

func panics() {
	if r := recovered(func() { panic(errBoom) }); r != errBoom {
		fail("recover() = %v, want boom", r)
	}
	// Runtime errors: index out of range, nil map write, integer division
	// by zero (SIGFPE) and a nil pointer dereference (SIGSEGV) all become
	// runtime.Error panics.
	var idx = 5
	var zero = 0
	var nilMap map[string]int
	var nilPtr *node
	cases := map[string]func(){
		"index":  func() { _ = []int{1, 2, 3}[idx] },
		"nilmap": func() { nilMap["x"] = 1 },
		"divide": func() { _ = idx / zero },
		"nilptr": func() { nilPtr.data[3] = 1 },
	}
	for _, name := range []string{"index", "nilmap", "divide", "nilptr"} {
		r := recovered(cases[name])
		if _, ok := r.(runtime.Error); !ok {
			fail("%s: recover() = %#v, want a runtime.Error", name, r)
		}
	}
	// Deferred calls run in reverse order during a panic.
	var trail []int
	recovered(func() {
		for i := 0; i < 3; i++ {
			defer func(i int) { trail = append(trail, i) }(i)
		}
		panic("x")
	})
	if fmt.Sprint(trail) != "[2 1 0]" {
		fail("defer order %v", trail)
	}
	fmt.Println("panic: ok")
}

func signals() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		fail("kill: %v", err)
	}
	select {
	case s := <-c:
		if s != syscall.SIGUSR1 {
			fail("got signal %v", s)
		}
	case <-time.After(10 * time.Second):
		fail("SIGUSR1 never arrived")
	}
	signal.Stop(c)
	// Ignored now: sending it again must not kill the program.
	signal.Ignore(syscall.SIGUSR1)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		fail("kill: %v", err)
	}
	time.Sleep(10 * time.Millisecond)
	fmt.Println("signal: ok")
}

func main() {
	if runtime.NumCPU() < 1 {
		fail("NumCPU %d", runtime.NumCPU())
	}
	goroutines()
	sleeps()
	gc()
	panics()
	signals()
	fmt.Println("go: ok")
}
