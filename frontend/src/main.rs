//! Entry point of the web app: mounts [`banter_frontend::App`] on the page's body.

fn main() {
    leptos::mount::mount_to_body(banter_frontend::App);
}
