// hpalab-streaming serves the CRI streaming calls (exec, port-forward) of hpalab's runtime.
//
// The runtime answers the kubelet's Exec and PortForward calls with a URL on this server,
// which it asks for over a unix socket (POST /exec, POST /portforward with the CRI request
// as JSON). The kubelet then proxies the client's stream to that URL, and this server runs
// the command in the container's namespaces (nsenter) or dials the pod's port. The
// protocols themselves (SPDY, WebSocket) are the upstream streaming library's.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/creack/pty"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"
	remotecommandserver "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

type runtime struct{ state string }

type containerSpec struct {
	Env map[string]string `json:"env"`
}

type startedFile struct {
	Pid int `json:"pid"`
}

type sandboxRecord struct {
	IP string `json:"ip"`
}

func (r *runtime) readJSON(kind, id, file string, into any) error {
	if id == "" || filepath.Base(id) != id {
		return fmt.Errorf("bad %s id %q", kind, id)
	}
	data, err := os.ReadFile(filepath.Join(r.state, kind, id, file))
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}

func (r *runtime) Exec(ctx context.Context, containerID string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommandserver.TerminalSize) error {
	var started startedFile
	if err := r.readJSON("containers", containerID, "pid", &started); err != nil {
		return fmt.Errorf("container %s is not running: %w", containerID, err)
	}
	var spec containerSpec
	if err := r.readJSON("containers", containerID, "spec.json", &spec); err != nil {
		return err
	}
	argv := append([]string{"-t", strconv.Itoa(started.Pid), "--net", "--mount", "--uts", "--"}, cmd...)
	c := exec.CommandContext(ctx, "nsenter", argv...)
	c.Dir = "/"
	for k, v := range spec.Env {
		c.Env = append(c.Env, k+"="+v)
	}
	if tty {
		return runTTY(c, in, out, resize)
	}
	c.Stdin, c.Stdout, c.Stderr = in, out, errOut
	return exitCode(c.Run())
}

func runTTY(c *exec.Cmd, in io.Reader, out io.WriteCloser, resize <-chan remotecommandserver.TerminalSize) error {
	terminal, err := pty.Start(c)
	if err != nil {
		return err
	}
	defer terminal.Close()
	go func() {
		for size := range resize {
			_ = pty.Setsize(terminal, &pty.Winsize{Rows: size.Height, Cols: size.Width})
		}
	}()
	if in != nil {
		go func() { _, _ = io.Copy(terminal, in) }()
	}
	if out != nil {
		go func() { _, _ = io.Copy(out, terminal) }()
	}
	return exitCode(c.Wait())
}

// exitCode turns a command's exit into the error type the streaming server reports as an
// exit code to the client (kubectl exec exits with it).
func exitCode(err error) error {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return utilexec.CodeExitError{Err: err, Code: exitErr.ExitCode()}
	}
	return err
}

func (r *runtime) Attach(ctx context.Context, containerID string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommandserver.TerminalSize) error {
	return errors.New("hpalab's runtime does not support attach: its containers have no stdin")
}

func (r *runtime) PortForward(ctx context.Context, podSandboxID string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	var sandbox sandboxRecord
	if err := r.readJSON("sandboxes", podSandboxID, "record.json", &sandbox); err != nil {
		return err
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(sandbox.IP, strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, stream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, conn); done <- struct{}{} }()
	<-done
	return nil
}

func control(server streaming.Server) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, url string, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"url": url})
	}
	mux.HandleFunc("POST /exec", func(w http.ResponseWriter, r *http.Request) {
		var req runtimeapi.ExecRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, "", err)
			return
		}
		resp, err := server.GetExec(&req)
		reply(w, resp.GetUrl(), err)
	})
	mux.HandleFunc("POST /portforward", func(w http.ResponseWriter, r *http.Request) {
		var req runtimeapi.PortForwardRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, "", err)
			return
		}
		resp, err := server.GetPortForward(&req)
		reply(w, resp.GetUrl(), err)
	})
	return mux
}

func main() {
	state := flag.String("state", "", "the runtime's state directory")
	listen := flag.String("listen", "127.0.0.1:0", "address of the streaming server")
	socket := flag.String("control", "", "unix socket the runtime asks for URLs on")
	flag.Parse()
	config := streaming.DefaultConfig
	config.Addr = *listen
	server, err := streaming.NewServer(config, &runtime{state: *state})
	if err != nil {
		log.Fatal(err)
	}
	_ = os.Remove(*socket)
	listener, err := net.Listen("unix", *socket)
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(http.Serve(listener, control(server))) }()
	log.Fatal(server.Start(true))
}
