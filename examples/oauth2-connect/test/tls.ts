/**
 * A self-signed certificate for 127.0.0.1 (P-256, valid until 2126), for tests only: it is
 * trusted by nothing, and the browser test tells Chromium to ignore certificate errors. Made with
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 * -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1`.
 */
export const TEST_TLS = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtS7hpX/aeuH/TkMZ
bufequNUir7XzgdN2RXnKFaoi16hRANCAATmXQAgpGS+S8LUDANq1BQAiqxTVzJ/
AhuJb2+7FsYVrf8iNec+3ZazylK7FVzWLiSWPgniMymdCVN4+hSKz0CH
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBkTCCATagAwIBAgIUMO5gP8/y0xY4cg8Y4f91R5p2haIwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwMTEzMjc1NVoYDzIxMjYxMTA3
MTMyNzU1WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATmXQAgpGS+S8LUDANq1BQAiqxTVzJ/AhuJb2+7FsYVrf8iNec+3Zaz
ylK7FVzWLiSWPgniMymdCVN4+hSKz0CHo2QwYjAdBgNVHQ4EFgQU7vJDxIgFk0rP
4SAODwT/ZK8aA80wHwYDVR0jBBgwFoAU7vJDxIgFk0rP4SAODwT/ZK8aA80wDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0kAMEYC
IQCdNzTbrqn3lXW7fBL9qfFUHqPanaAK7KAc1CNL6uMlAQIhALqdmGbhfYNk89YW
SogVoJkt0qncaA1ymkYZb6oFQdvQ
-----END CERTIFICATE-----
`,
};
