"""A locustfile for the shop API (app.py): a shopper logs in once, then browses three times
as often as it adds to the cart.

In hpalab's open model each arrival of the profile runs one of these tasks (by weight) on a
pooled, logged-in shopper and ``wait_time`` is not used; in the closed model every user is a
shopper that runs a task, then waits ``wait_time``.
"""

from locust import FastHttpUser, between, task


class Shopper(FastHttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        token = self.client.post("/login").json()["token"]
        self.auth = {"Authorization": f"Bearer {token}"}

    @task(3)
    def browse(self) -> None:
        self.client.get("/products")

    @task(1)
    def add_to_cart(self) -> None:
        self.client.post("/cart", headers=self.auth)
