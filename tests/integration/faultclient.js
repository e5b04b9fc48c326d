// faultclient.js PORT: node's net client of 127.0.0.1:PORT, as faultclient.py
// raw: a request, then the bytes it read and how reading ended (EOF, or the
// error code): node's own event loop on a real socket.
const net = require("net");
let got = 0;
const s = net.connect({ host: "127.0.0.1", port: Number(process.argv[2]), allowHalfOpen: true }, () => {
  s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
});
s.on("data", (b) => { got += b.length; });
s.on("end", () => { console.log(`read ${got} bytes, then EOF`); s.destroy(); });
s.on("error", (e) => { console.log(`read ${got} bytes, then ${e.code}`); });
