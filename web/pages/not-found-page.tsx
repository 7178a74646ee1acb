import { Link } from '../router';

export function NotFoundPage() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address: go back to the <Link to="/">catalog</Link>.
      </p>
    </section>
  );
}
